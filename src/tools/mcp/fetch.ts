// The `fetch` the MCP transports use: every request goes through the outbound guard
// (src/net/outbound.ts). The host's addresses are checked as the connection is made — the socket
// connects to the address that was checked — so a name cannot pass the check with a public address
// and then connect to a private one; redirects are followed by the guard and checked again, with
// credentials dropped when the origin changes. The transports are told to leave redirects to it
// (`redirectPolicy: 'follow'`).
import { ReadableStream } from 'node:stream/web';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { outboundRequest, type AllowList } from '../../net/outbound.js';

/** Status codes whose responses have no body (the Response constructor refuses one). */
const NO_BODY = new Set([204, 205, 304]);

export interface GuardedFetchOptions {
  allow: AllowList;
  /** One exchange, its streamed body included, ends within this. */
  timeoutMs: number;
  /** The largest body read. */
  maxBytes: number;
}

export function guardedFetch({ allow, timeoutMs, maxBytes }: GuardedFetchOptions): FetchLike {
  return async (input, init) => {
    const url = input instanceof URL ? input.href : input;
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const method = (init?.method ?? 'GET').toUpperCase();
    const res = await outboundRequest(url, { allow, method, headers, body: await bodyBytes(init?.body), timeoutMs, maxBytes, signal: init?.signal ?? undefined });
    const out = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
    }
    let body: ReadableStream<Uint8Array> | null = null;
    if (NO_BODY.has(res.status) || method === 'HEAD') res.close();
    else body = ReadableStream.from(res.chunks());
    const response = new Response(body as unknown as BodyInit | null, { status: res.status, headers: out });
    Object.defineProperty(response, 'url', { value: res.url });
    return response;
  };
}

async function bodyBytes(body: RequestInit['body']): Promise<string | Uint8Array | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return new Uint8Array(await new Response(body).arrayBuffer());
}
