// Runs extraction and chunking (work.ts) in one worker thread, started on first use and
// restarted if it dies. `inline` runs them on the calling thread instead (benchmarks, tools).
import { Worker } from 'node:worker_threads';
import { extractAndChunk, type ExtractRequest, type ExtractResult } from './work.js';

interface Pending {
  resolve(result: ExtractResult): void;
}

export class Extractor {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly inline = false) {}

  run(request: ExtractRequest): Promise<ExtractResult> {
    if (this.inline) return extractAndChunk(request);
    if (this.closed) return Promise.resolve({ ok: false, code: 'server_error', message: 'The server is shutting down.' });
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      worker.ref();
      worker.postMessage({ id, request });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll('The server is shutting down.');
    await worker?.terminate();
  }

  private start(): Worker {
    // Under tsx (tests, `npm run dev`) the worker is TypeScript and needs tsx's loader, which a
    // worker thread does not inherit on Node 20; the built server runs the compiled .js file.
    const typescript = import.meta.url.endsWith('.ts');
    const url = new URL(typescript ? './extract-worker.ts' : './extract-worker.js', import.meta.url);
    const worker = typescript
      ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
      : new Worker(url);
    worker.on('message', ({ id, result }: { id: number; result: ExtractResult }) => {
      this.pending.get(id)?.resolve(result);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
    });
    const lost = (why: string) => {
      if (this.worker === worker) this.worker = null;
      this.failAll(why);
    };
    worker.on('error', (error) => lost(`The ingestion worker failed: ${error.message}`));
    worker.on('exit', (code) => lost(`The ingestion worker exited (code ${code}).`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.resolve({ ok: false, code: 'server_error', message });
    this.pending.clear();
  }
}
