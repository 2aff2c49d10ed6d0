// One connection to a remote MCP server: Streamable HTTP first, then the older HTTP+SSE transport
// when the server does not speak it. Every request passes the outbound guard (fetch.ts). A
// connection serves one operation (a listing or a call) and is closed after it: nothing is kept
// open between the steps of a response or between responses.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { OutboundError, type AllowList } from '../../net/outbound.js';
import { guardedFetch } from './fetch.js';

export interface McpEndpoint {
  url: string;
  /** Sent with every request (`headers`, plus `authorization` as a bearer token). */
  headers: Record<string, string>;
}

export interface ConnectOptions {
  allow: AllowList;
  timeoutMs: number;
  signal: AbortSignal;
}

/** The largest body read from an MCP server in one exchange. */
const MAX_BYTES = 16 * 1024 * 1024;

const CLIENT_INFO = { name: 'parley', version: '0.1.0' };

/** Connects, runs `work` with the client, and closes the connection whatever happens. */
export async function withMcpClient<T>(endpoint: McpEndpoint, options: ConnectOptions, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(endpoint, options);
  try {
    return await work(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function connect(endpoint: McpEndpoint, { allow, timeoutMs, signal }: ConnectOptions): Promise<Client> {
  const url = new URL(endpoint.url);
  const transportOptions = {
    // Outbound timeout a little above the request timeout, so that the MCP timeout reports first.
    fetch: guardedFetch({ allow, timeoutMs: timeoutMs + 1000, maxBytes: MAX_BYTES }),
    requestInit: { headers: endpoint.headers },
    redirectPolicy: 'follow' as const,
  };
  const requestOptions = { timeout: timeoutMs, signal };
  const streamable = new Client(CLIENT_INFO);
  try {
    await streamable.connect(new StreamableHTTPClientTransport(url, transportOptions), requestOptions);
    return streamable;
  } catch (error) {
    await streamable.close().catch(() => undefined);
    if (signal.aborted || guardRefusal(error)) throw error;
    // A server that only speaks the older HTTP+SSE transport answers the POST with an error.
    const sse = new Client(CLIENT_INFO);
    try {
      await sse.connect(new SSEClientTransport(url, transportOptions), requestOptions);
      return sse;
    } catch {
      await sse.close().catch(() => undefined);
      throw error;
    }
  }
}

/** The OutboundError behind an error, if any (the transports may wrap it). */
export function outboundCause(error: unknown): OutboundError | null {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundError) return e;
  }
  return null;
}

function guardRefusal(error: unknown): boolean {
  return outboundCause(error)?.code === 'blocked';
}
