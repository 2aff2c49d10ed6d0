// A real Chat Completions upstream on 127.0.0.1 for tests: a node:http server that speaks the
// OpenAI SSE wire format, so back-ends are tested over HTTP and never by mocking our functions.
//
//   const up = await startFakeChatUpstream({ models?: string[], apiKey?: string });
//   up.url                  base URL ending in /v1 (serves GET /v1/models, POST /v1/chat/completions)
//   up.script(s, ...more)   queue Scripts, one per chat request, FIFO; when the queue is empty the
//                           reply is DEFAULT_SCRIPT ("Hello from upstream" in 3 chunks, stop, usage);
//                           a queued function is called with the request body and returns the Script
//   up.requests             parsed JSON bodies of the chat requests received, in order
//   up.headers              their request headers, in the same order
//   up.closedConnections    sockets closed so far (by either side); up.whenClosed(n) waits for n
//   await up.close()        drops every connection and stops the server
//
// A Script: { status, body }      → an HTTP error: that status and body (JSON; a string as text/plain)
//           { chunks }            → each object sent as `data: {json}\n\n`, each string as
//                                   `data: <string>\n\n` (e.g. malformed JSON), each chunk.raw(bytes) as is;
//                                   then `data: [DONE]\n\n` and the end of the response
//           delayMs               wait between chunks (and before the first)
//           stallAfter: n         after n chunks send nothing more, keep the socket open
//           noDone                end the response without [DONE]
// Chunk builders in `chunk`: text, reasoning, refusal, toolCall, finish, usage, error, raw;
// `textScript(text, options)` builds a whole text reply.
import type http from 'node:http';
import { RawChunk, acceptUpstreamRequest, sendError, sendFrames, startFakeServer, type FakeServer, type Pacing } from './fake-server.js';

export { RawChunk };

export interface Script extends Pacing {
  status?: number;
  body?: unknown;
  chunks?: Array<object | string | RawChunk>;
  noDone?: boolean;
}

/** A Script, or one chosen from the request it answers (its parsed JSON body). */
export type ScriptStep = Script | ((request: any) => Script);

export interface FakeChatUpstream extends FakeServer {
  requests: any[];
  headers: http.IncomingHttpHeaders[];
  script(next: ScriptStep, ...more: ScriptStep[]): void;
}

const MODEL = 'fake-model';

function envelope(choices: unknown[], extra?: object): object {
  return { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1700000000, model: MODEL, choices, ...extra };
}

function delta(delta: object): object {
  return envelope([{ index: 0, delta, finish_reason: null }]);
}

export const chunk = {
  /** `delta.content`; the first chunk of a real stream also carries `role: 'assistant'`. */
  text: (content: string) => delta({ content }),
  /** `delta.reasoning_content` (DeepSeek, vLLM, llama.cpp) or `delta.reasoning` (OpenRouter, newer vLLM). */
  reasoning: (text: string, field: 'reasoning_content' | 'reasoning' = 'reasoning_content') => delta({ [field]: text }),
  refusal: (refusal: string) => delta({ refusal }),
  /** One fragment of tool call `index`: the first carries id and name, later ones only arguments. */
  toolCall: (index: number, call: { id?: string; name?: string; arguments?: string }) => {
    const fn: Record<string, string> = {};
    if (call.name !== undefined) fn.name = call.name;
    if (call.arguments !== undefined) fn.arguments = call.arguments;
    const entry: Record<string, unknown> = { index, function: fn };
    if (call.id !== undefined) Object.assign(entry, { id: call.id, type: 'function' });
    return delta({ tool_calls: [entry] });
  },
  finish: (reason = 'stop') => envelope([{ index: 0, delta: {}, finish_reason: reason }]),
  /** The `include_usage` chunk: empty `choices`. */
  usage: (prompt_tokens: number, completion_tokens: number, details?: { reasoning?: number; cached?: number }) =>
    envelope([], {
      usage: {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
        ...(details?.cached !== undefined && { prompt_tokens_details: { cached_tokens: details.cached } }),
        ...(details?.reasoning !== undefined && { completion_tokens_details: { reasoning_tokens: details.reasoning } }),
      },
    }),
  error: (message: string, code = 'server_error') => ({ error: { message, type: 'server_error', code } }),
  raw: (data: string | Uint8Array) => new RawChunk(data),
};

/** A complete text reply: role chunk, `pieces` (default: split before spaces), finish, usage. */
export function textScript(
  text: string,
  options: { pieces?: string[]; finish?: string; usage?: [number, number] | null; delayMs?: number } = {},
): Script {
  const pieces = options.pieces ?? text.split(/(?= )/);
  const usage = options.usage === undefined ? ([5, pieces.length] as [number, number]) : options.usage;
  return {
    chunks: [
      delta({ role: 'assistant', content: '' }),
      ...pieces.map(chunk.text),
      chunk.finish(options.finish ?? 'stop'),
      ...(usage ? [chunk.usage(usage[0], usage[1])] : []),
    ],
    delayMs: options.delayMs,
  };
}

export const DEFAULT_SCRIPT: Script = textScript('Hello from upstream');

export async function startFakeChatUpstream(options: { models?: string[]; apiKey?: string } = {}): Promise<FakeChatUpstream> {
  const queue: ScriptStep[] = [];
  const requests: any[] = [];
  const headers: http.IncomingHttpHeaders[] = [];

  const server = await startFakeServer(async (req, res) => {
    const body = await acceptUpstreamRequest(req, res, { path: '/v1/chat/completions', models: options.models ?? [MODEL], apiKey: options.apiKey });
    if (body === undefined) return;
    requests.push(body);
    headers.push(req.headers);
    const step = queue.shift() ?? DEFAULT_SCRIPT;
    const script = typeof step === 'function' ? step(body) : step;
    if (script.status && script.status >= 300) {
      return sendError(res, script.status, script.body ?? { error: { message: `HTTP ${script.status}` } });
    }
    const frames = (script.chunks ?? []).map((c) => (c instanceof RawChunk ? c.data : `data: ${typeof c === 'string' ? c : JSON.stringify(c)}\n\n`));
    await sendFrames(res, frames, script, script.noDone ? '' : 'data: [DONE]\n\n');
  });

  return Object.assign(server, { requests, headers, script: (...next: ScriptStep[]) => void queue.push(...next) });
}
