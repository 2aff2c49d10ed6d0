// Chunking by tokens, like OpenAI's `static` strategy: windows of at most `maxTokens` tokens
// (o200k_base, the tokenizer of OpenAI's current models), each starting `maxTokens -
// overlapTokens` tokens after the previous one. A chunk is the exact slice of the source text
// its tokens cover, so nothing is re-decoded and no character is cut in two.
import { decodeGenerator, encode } from 'gpt-tokenizer/encoding/o200k_base';
import type { ChunkingOptions } from './chunking.js';

/** Special-token strings (`<|endoftext|>`) in a document are plain text, not an error. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

export function countTokens(text: string): number {
  return encode(text, AS_TEXT).length;
}

/** The chunks of `text`, in order; chunks that are only whitespace are left out. */
export function chunkText(text: string, { maxTokens, overlapTokens }: ChunkingOptions): string[] {
  if (maxTokens < 1 || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new Error(`invalid chunking: ${maxTokens} tokens with ${overlapTokens} overlap`);
  }
  const tokens = encode(text, AS_TEXT);
  const ends = tokenEnds(tokens, text.length);
  const stride = maxTokens - overlapTokens;
  const chunks: string[] = [];
  for (let start = 0; start < tokens.length; start += stride) {
    const end = Math.min(start + maxTokens, tokens.length);
    const chunk = text.slice(start === 0 ? 0 : ends[start - 1], ends[end - 1]);
    if (chunk.trim()) chunks.push(chunk);
    if (end === tokens.length) break;
  }
  return chunks;
}

/**
 * ends[i] = the offset in the text just after token i. A token that ends inside a character
 * (part of a multi-byte sequence) is given the end of the character it completes with the next
 * token, so slices fall on character boundaries.
 */
function tokenEnds(tokens: number[], textLength: number): Uint32Array {
  const ends = new Uint32Array(tokens.length);
  let pulled = 0;
  let assigned = 0;
  let chars = 0;
  function* feed() {
    for (let i = 0; i < tokens.length; i++) {
      pulled = i + 1;
      yield tokens[i];
    }
  }
  for (const piece of decodeGenerator(feed())) {
    chars += piece.length;
    for (; assigned < pulled; assigned++) ends[assigned] = chars;
  }
  for (; assigned < tokens.length; assigned++) ends[assigned] = textLength;
  if (chars !== textLength && tokens.length) ends[tokens.length - 1] = textLength;
  return ends;
}
