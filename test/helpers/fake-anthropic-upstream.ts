// A real Anthropic Messages upstream on 127.0.0.1 for tests: a node:http server that speaks the
// Messages SSE wire format (`event: <type>` + `data: <json>` frames), so the Anthropic back-end
// is tested over HTTP and never by mocking our functions.
//
//   const up = await startFakeAnthropicUpstream({ models?: string[], apiKey?: string });
//   up.url                  base URL ending in /v1 (serves GET /v1/models, POST /v1/messages)
//   up.script(s, ...more)   queue Scripts, one per messages request, FIFO; when the queue is empty
//                           the reply is DEFAULT_SCRIPT ("Hello from Claude", end_turn, usage)
//   up.requests             parsed JSON bodies of the messages requests received, in order
//   up.headers              their request headers, in the same order
//   up.closedConnections    sockets closed so far (by either side); up.whenClosed(n) waits for n
//   await up.close()        drops every connection and stops the server
//
// A Script: { status, body }      → an HTTP error: that status and body (JSON; a string as text/plain)
//           { events }            → each event object sent as `event: <its type>\ndata: <json>\n\n`,
//                                   each RawChunk as is; then the end of the response
//           delayMs               wait between events (and before the first)
//           stallAfter: n         after n events send nothing more, keep the socket open
// Event builders are in `ev`; `textBlock`, `thinkingBlock`, `toolUseBlock` build one content
// block's events and `reply(blocks, options)` a whole message around them.
import type http from 'node:http';
import { RawChunk, readBody, sendError, sendFrames, sendJson, startFakeServer, type FakeServer, type Pacing } from './fake-server.js';

export { RawChunk };

export interface AnthropicEvent {
  type: string;
  [key: string]: unknown;
}

export interface Script extends Pacing {
  status?: number;
  body?: unknown;
  events?: Array<AnthropicEvent | RawChunk>;
}

export interface FakeAnthropicUpstream extends FakeServer {
  requests: any[];
  headers: http.IncomingHttpHeaders[];
  script(next: Script, ...more: Script[]): void;
}

export const MODEL = 'claude-test';

export const ev = {
  messageStart: (usage: { input_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number } = { input_tokens: 5 }) => ({
    type: 'message_start',
    message: {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { output_tokens: 1, ...usage },
    },
  }),
  ping: () => ({ type: 'ping' }),
  blockStart: (index: number, content_block: object) => ({ type: 'content_block_start', index, content_block }),
  delta: (index: number, delta: object) => ({ type: 'content_block_delta', index, delta }),
  textDelta: (index: number, text: string) => ev.delta(index, { type: 'text_delta', text }),
  thinkingDelta: (index: number, thinking: string) => ev.delta(index, { type: 'thinking_delta', thinking }),
  signatureDelta: (index: number, signature: string) => ev.delta(index, { type: 'signature_delta', signature }),
  inputJsonDelta: (index: number, partial_json: string) => ev.delta(index, { type: 'input_json_delta', partial_json }),
  blockStop: (index: number) => ({ type: 'content_block_stop', index }),
  messageDelta: (stop_reason: string, output_tokens: number, extra: object = {}) => ({
    type: 'message_delta',
    delta: { stop_reason, stop_sequence: null },
    usage: { output_tokens, ...extra },
  }),
  messageStop: () => ({ type: 'message_stop' }),
  /** `event: error`, as Anthropic sends it mid-stream (e.g. `overloaded_error`). */
  error: (type: string, message: string) => ({ type: 'error', error: { type, message } }),
  raw: (data: string) => new RawChunk(data),
};

export function textBlock(index: number, pieces: string[]): AnthropicEvent[] {
  return [ev.blockStart(index, { type: 'text', text: '' }), ...pieces.map((p) => ev.textDelta(index, p)), ev.blockStop(index)];
}

export function thinkingBlock(index: number, pieces: string[], signature: string): AnthropicEvent[] {
  return [
    ev.blockStart(index, { type: 'thinking', thinking: '', signature: '' }),
    ...pieces.map((p) => ev.thinkingDelta(index, p)),
    ev.signatureDelta(index, signature),
    ev.blockStop(index),
  ];
}

export function toolUseBlock(index: number, id: string, name: string, jsonPieces: string[]): AnthropicEvent[] {
  return [
    ev.blockStart(index, { type: 'tool_use', id, name, input: {} }),
    ...jsonPieces.map((p) => ev.inputJsonDelta(index, p)),
    ev.blockStop(index),
  ];
}

/** A whole message: message_start, a ping, the blocks, message_delta (stop reason, usage), message_stop. */
export function reply(
  blocks: AnthropicEvent[][],
  options: { stopReason?: string; usage?: [number, number]; cacheRead?: number; cacheWrite?: number; delayMs?: number } = {},
): Script {
  const [input, output] = options.usage ?? [5, 3];
  const start: { input_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number } = { input_tokens: input };
  if (options.cacheRead !== undefined) start.cache_read_input_tokens = options.cacheRead;
  if (options.cacheWrite !== undefined) start.cache_creation_input_tokens = options.cacheWrite;
  return {
    events: [ev.messageStart(start), ev.ping(), ...blocks.flat(), ev.messageDelta(options.stopReason ?? 'end_turn', output), ev.messageStop()],
    delayMs: options.delayMs,
  };
}

export const textReply = (text: string, options: Parameters<typeof reply>[1] = {}) => reply([textBlock(0, text.split(/(?= )/))], options);

export const DEFAULT_SCRIPT: Script = textReply('Hello from Claude');

export async function startFakeAnthropicUpstream(options: { models?: string[]; apiKey?: string } = {}): Promise<FakeAnthropicUpstream> {
  const queue: Script[] = [];
  const requests: any[] = [];
  const headers: http.IncomingHttpHeaders[] = [];

  const server = await startFakeServer(async (req, res) => {
    const url = req.url ?? '';
    if (options.apiKey && req.headers['x-api-key'] !== options.apiKey) {
      return sendJson(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    }
    if (req.method === 'GET' && url.split('?')[0] === '/v1/models') {
      const data = (options.models ?? [MODEL]).map((id) => ({ type: 'model', id, display_name: id.toUpperCase(), created_at: '2025-01-01T00:00:00Z' }));
      return sendJson(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
    }
    if (req.method !== 'POST' || url !== '/v1/messages') {
      return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: `no route ${req.method} ${url}` } });
    }
    requests.push(await readBody(req));
    headers.push(req.headers);
    const script = queue.shift() ?? DEFAULT_SCRIPT;
    if (script.status && script.status >= 300) {
      return sendError(res, script.status, script.body ?? { type: 'error', error: { type: 'api_error', message: `HTTP ${script.status}` } });
    }
    const frames = (script.events ?? []).map((e) => (e instanceof RawChunk ? e.data : `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
    await sendFrames(res, frames, script);
  });

  return Object.assign(server, { requests, headers, script: (...next: Script[]) => void queue.push(...next) });
}
