// The ingestion worker thread: answers { id, request } with { id, result } (work.ts).
import { parentPort } from 'node:worker_threads';
import { extractAndChunk, type ExtractRequest } from './work.js';

parentPort!.on('message', (message: { id: number; request: ExtractRequest }) => {
  void extractAndChunk(message.request).then((result) => parentPort!.postMessage({ id: message.id, result }));
});
