// A real OpenAI-compatible embeddings upstream on 127.0.0.1 for tests: POST /v1/embeddings
// answers deterministic vectors, so dense retrieval is tested over HTTP, never by mocking.
//
// A vector is a bag of words hashed into DIMS dimensions (lower case, crude plural stripping, a
// few stop words dropped), with a small synonym table applied first: "automobile" and "car" land
// in the same dimension, so dense search finds what lexical search cannot.
//
//   const up = await startFakeEmbeddings();
//   up.url               base URL ending in /v1
//   up.inputs            every input string received, in order
//   up.hold()            later requests wait until up.release() (to catch ingestion mid-way);
//                        up.waitForRequest() resolves when the next request arrives
//   up.failWith(status)  later requests get that HTTP error (null to stop)
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const DIMS = 256;

const SYNONYMS: Record<string, string> = {
  automobile: 'car',
  vehicle: 'car',
  motorcar: 'car',
  physician: 'doctor',
  medic: 'doctor',
  feline: 'cat',
  kitty: 'cat',
};
const STOP = new Set(['the', 'a', 'an', 'of', 'to', 'and', 'is', 'in', 'for', 'on', 'what', 'how', 'do', 'does', 'i', 'my']);

export function fakeVector(text: string): number[] {
  const v = new Array<number>(DIMS).fill(0);
  for (const raw of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    if (STOP.has(raw)) continue;
    const word = SYNONYMS[raw] ?? SYNONYMS[raw.replace(/s$/, '')] ?? raw.replace(/s$/, '');
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
    v[(h >>> 0) % DIMS] += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

export interface FakeEmbeddings {
  url: string;
  inputs: string[];
  requests: number;
  hold(): void;
  release(): void;
  waitForRequest(): Promise<void>;
  failWith(status: number | null): void;
  close(): Promise<void>;
}

export async function startFakeEmbeddings(): Promise<FakeEmbeddings> {
  const inputs: string[] = [];
  let requests = 0;
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  let failure: number | null = null;
  let arrived: Array<() => void> = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404).end();
        return;
      }
      requests++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: string | string[]; model: string };
      const input = Array.isArray(body.input) ? body.input : [body.input];
      inputs.push(...input);
      const waiters = arrived;
      arrived = [];
      for (const w of waiters) w();
      if (gate) await gate;
      if (failure !== null) {
        res.writeHead(failure, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'embeddings failed on purpose' } }));
        return;
      }
      const data = input.map((text, index) => ({ object: 'embedding', index, embedding: fakeVector(text) }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', model: body.model, data, usage: { prompt_tokens: 0, total_tokens: 0 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    inputs,
    get requests() {
      return requests;
    },
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = null;
      open();
    },
    waitForRequest: () => new Promise((resolve) => arrived.push(resolve)),
    failWith(status) {
      failure = status;
    },
    async close() {
      open();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
