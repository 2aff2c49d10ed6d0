// Dense vectors from an OpenAI-compatible `POST {url}/embeddings` (PARLEY_EMBEDDINGS_*): vLLM,
// Ollama, llama.cpp, TEI, OpenAI itself. Vectors are normalised to unit length, so cosine
// similarity is a dot product.
import type { EmbeddingsConfig } from '../config.js';

export class EmbeddingsError extends Error {}

/** Inputs per request, and characters per request, whichever limit comes first. */
const BATCH_INPUTS = 64;
const BATCH_CHARS = 200_000;

export class Embeddings {
  constructor(
    private readonly config: EmbeddingsConfig,
    private readonly timeoutMs = 60_000,
  ) {}

  get model(): string {
    return this.config.model;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    let batch: string[] = [];
    let chars = 0;
    for (const text of texts) {
      if (batch.length && (batch.length >= BATCH_INPUTS || chars + text.length > BATCH_CHARS)) {
        out.push(...(await this.request(batch, signal)));
        batch = [];
        chars = 0;
      }
      batch.push(text);
      chars += text.length;
    }
    if (batch.length) out.push(...(await this.request(batch, signal)));
    return out;
  }

  private async request(input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.config.url}/embeddings`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: this.config.model, input, encoding_format: 'float' }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      const why = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : (error as Error).message;
      throw new EmbeddingsError(`The embeddings upstream could not be reached: ${why}`);
    }
    const body = await response.text();
    if (!response.ok) {
      throw new EmbeddingsError(`The embeddings upstream answered ${response.status}: ${body.slice(0, 300)}`);
    }
    let data: Array<{ index?: number; embedding?: unknown }>;
    try {
      data = (JSON.parse(body) as { data: typeof data }).data;
    } catch {
      throw new EmbeddingsError('The embeddings upstream answered with something that is not JSON.');
    }
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new EmbeddingsError(`The embeddings upstream returned ${Array.isArray(data) ? data.length : 'no'} vectors for ${input.length} inputs.`);
    }
    const vectors = new Array<Float32Array>(input.length);
    data.forEach((entry, i) => {
      const index = typeof entry.index === 'number' ? entry.index : i;
      if (!Array.isArray(entry.embedding) || entry.embedding.length === 0) {
        throw new EmbeddingsError('The embeddings upstream returned an entry without a float `embedding` array.');
      }
      vectors[index] = normalise(Float32Array.from(entry.embedding as number[]));
    });
    return vectors;
  }
}

export function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}
