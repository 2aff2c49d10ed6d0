// What ingestion does off the main thread: read a file, extract its text, cut it into chunks.
// Pure functions of their input, run in an ingestion worker (ingest-worker.ts) so that parsing
// a large PDF or tokenizing megabytes of text never stalls the streams the main thread serves.
import { readFile } from 'node:fs/promises';
import { chunkText } from './chunk.js';
import type { ChunkingOptions } from './chunking.js';
import { ExtractionError, extractText } from './extract.js';

export interface ExtractRequest {
  /** The stored file to read, unless its text is already known. */
  path?: string;
  filename: string;
  /** Text extracted earlier (the same file in another vector store): only chunked. */
  text?: string;
  chunking: ChunkingOptions;
}

export type ExtractResult =
  | { ok: true; text: string; chunks: string[] }
  | { ok: false; code: 'unsupported_file' | 'invalid_file' | 'server_error'; message: string };

export async function extractAndChunk(request: ExtractRequest): Promise<ExtractResult> {
  try {
    let text = request.text;
    if (text === undefined) {
      let bytes: Buffer;
      try {
        bytes = await readFile(request.path!);
      } catch (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        return {
          ok: false,
          code: missing ? 'invalid_file' : 'server_error',
          message: missing ? `The content of '${request.filename}' is no longer stored.` : `Reading '${request.filename}' failed.`,
        };
      }
      text = await extractText(bytes, request.filename);
    }
    return { ok: true, text, chunks: chunkText(text, request.chunking) };
  } catch (error) {
    if (error instanceof ExtractionError) return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: 'server_error', message: `Processing '${request.filename}' failed: ${(error as Error).message}` };
  }
}
