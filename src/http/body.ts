// Reads a JSON request body straight from the Node request: no Web Request or stream wrappers
// on the hot path, and the size limit enforced while reading.
import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from '../protocol/errors.js';

const tooLarge = (maxBytes: number) =>
  new ApiError(413, `The request body exceeds ${maxBytes} bytes.`, 'invalid_request_error', null, 'request_too_large');

export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(maxBytes));
      } else chunks.push(chunk);
    });
    req.once('error', reject);
    req.once('end', () => {
      if (size > maxBytes) return;
      const text = Buffer.concat(chunks, size).toString('utf8');
      if (!text.trim()) return reject(badRequest('The request body is empty; expected a JSON object.', null, 'invalid_json'));
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(badRequest('We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.', null, 'invalid_json'));
      }
    });
  });
}
