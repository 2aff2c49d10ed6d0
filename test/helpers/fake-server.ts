// The plumbing shared by the fake upstreams (Chat Completions, Anthropic Messages): a node:http
// server on 127.0.0.1 that counts closed connections, and the pieces of a scripted reply (an
// HTTP error, SSE frames written one by one with delays or a stall).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeServer {
  /** `http://127.0.0.1:<port>/v1` */
  url: string;
  /** Sockets closed so far (by either side). */
  readonly closedConnections: number;
  /** Resolves once `count` sockets have closed. */
  whenClosed(count: number): Promise<void>;
  /** Drops every connection and stops the server. */
  close(): Promise<void>;
}

/** Bytes written as they are: no SSE framing (e.g. half an event, or a UTF-8 sequence cut in two). */
export class RawChunk {
  constructor(readonly data: string | Uint8Array) {}
}

/** When to send a script's frames. */
export interface Pacing {
  /** Wait between frames (and before the first). */
  delayMs?: number;
  /** After this many frames send nothing more and keep the socket open. */
  stallAfter?: number;
}

export async function startFakeServer(handler: http.RequestListener): Promise<FakeServer> {
  let closed = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server = http.createServer(handler);
  server.on('connection', (socket) => {
    socket.on('close', () => {
      closed++;
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (closed >= waiters[i].count) waiters.splice(i, 1)[0].resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get closedConnections() {
      return closed;
    },
    whenClosed: (count) => (closed >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The request body, parsed as JSON when it is JSON, else as text. */
export async function readBody(req: http.IncomingMessage): Promise<any> {
  let raw = '';
  req.setEncoding('utf8');
  for await (const part of req) raw += part;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An error reply: a string body goes as text/plain, anything else as JSON. */
export function sendError(res: http.ServerResponse, status: number, body: unknown): void {
  if (typeof body !== 'string') return sendJson(res, status, body);
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}

/** Sends an SSE response frame by frame, paced; after the last frame writes `trailer` and ends, unless stalled. */
export async function sendFrames(res: http.ServerResponse, frames: Array<string | Uint8Array>, pacing: Pacing, trailer = ''): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  for (let i = 0; i < frames.length; i++) {
    if (pacing.stallAfter !== undefined && i >= pacing.stallAfter) return; // keep the socket open
    if (pacing.delayMs) await new Promise((resolve) => setTimeout(resolve, pacing.delayMs));
    if (res.destroyed) return;
    res.write(frames[i]);
  }
  if (pacing.stallAfter !== undefined) return;
  res.end(trailer);
}

/**
 * What every fake upstream answers the same way: a wrong bearer key (401), `GET /v1/models`, and
 * anything but `POST path` (404). Resolves with the parsed request body, or `undefined` once it
 * has answered the request itself.
 */
export async function acceptUpstreamRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: { path: string; models: string[]; apiKey?: string },
): Promise<any> {
  const url = req.url ?? '';
  if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
    sendJson(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
    return undefined;
  }
  if (req.method === 'GET' && url === '/v1/models') {
    const data = options.models.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake' }));
    sendJson(res, 200, { object: 'list', data });
    return undefined;
  }
  if (req.method !== 'POST' || url !== options.path) {
    sendJson(res, 404, { error: { message: `no route ${req.method} ${url}` } });
    return undefined;
  }
  return readBody(req);
}
