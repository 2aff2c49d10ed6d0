// How files are cut into chunks, apart from the tokenizer that does it (chunk.ts): the main
// thread needs the options and their defaults, and must not load o200k_base (tens of MB of
// heap, which every full GC would then mark) to get them.

export interface ChunkingOptions {
  maxTokens: number;
  overlapTokens: number;
}

/** OpenAI's defaults (the `auto` strategy). */
export const DEFAULT_CHUNKING: ChunkingOptions = { maxTokens: 800, overlapTokens: 400 };
