// A real OpenAI Responses upstream on 127.0.0.1 for tests: a node:http server that replays
// scripted Responses SSE streams (`event: <type>` + `data: {json}`), with its own response id,
// its own item ids and its own sequence numbers, so the pass-through back-end is tested over
// HTTP and never by mocking our functions.
//
//   const up = await startFakeResponsesUpstream({ models?: string[], apiKey?: string });
//   up.url                  base URL ending in /v1 (serves GET /v1/models, POST /v1/responses)
//   up.script(s, ...more)   queue Scripts, one per request, FIFO; when the queue is empty the reply
//                           is upstreamResponse().message('Hello from upstream').completed()
//   up.requests             parsed JSON bodies of the requests received, in order
//   up.headers              their request headers, in the same order
//   up.closedConnections    sockets closed so far; up.whenClosed(n) waits for n
//   await up.close()
//
// A Script: { status, body }  → an HTTP error: that status and body (JSON; a string as text/plain)
//           { events }        → each object sent as an SSE event (`event:` its type), each string
//                               as `data: <string>` (e.g. malformed JSON); then the end of the body
//           delayMs           wait between events; stallAfter: n → send n events, then nothing
//
// `upstreamResponse(options)` builds the events of one response, item by item, the way OpenAI
// streams them: message (with url_citation annotations), refusal, reasoning (summary parts and
// reasoning_text), function and custom tool calls, web_search / file_search / code_interpreter /
// image_generation calls, mcp_list_tools and mcp_call; then completed, incomplete or failed.
import type http from 'node:http';
import { acceptUpstreamRequest, sendError, sendFrames, startFakeServer, type FakeServer, type Pacing } from './fake-server.js';

export interface Script extends Pacing {
  status?: number;
  body?: unknown;
  events?: Array<object | string>;
}

export interface FakeResponsesUpstream extends FakeServer {
  requests: any[];
  headers: http.IncomingHttpHeaders[];
  script(next: Script, ...more: Script[]): void;
}

export const UPSTREAM_MODEL = 'gpt-upstream';

let counter = 0;
/** An id the way the upstream makes them: its prefix, then a number unique in this process. */
const upstreamId = (prefix: string) => `${prefix}_up${String(++counter).padStart(6, '0')}`;

type Json = Record<string, any>;

export interface Citation {
  url: string;
  title: string;
  /** The cited span of the message text. */
  start: number;
  end: number;
}

export interface UpstreamUsage {
  input: number;
  output: number;
  cached?: number;
  reasoning?: number;
}

/** Splits text before each space: the deltas of a stream. */
const pieces = (text: string) => (text === '' ? [] : text.split(/(?= )/));

export class ResponseBuilder {
  readonly id = upstreamId('resp');
  readonly events: Json[] = [];
  readonly output: Json[] = [];
  /** The upstream's own item ids, in output order. */
  readonly itemIds: string[] = [];
  private seq: number;
  private readonly createdAt = 1_700_000_000;

  constructor(private readonly options: { model?: string; firstSequenceNumber?: number } = {}) {
    this.seq = options.firstSequenceNumber ?? 0;
    this.push({ type: 'response.created', response: this.response('in_progress') });
    this.push({ type: 'response.in_progress', response: this.response('in_progress') });
  }

  private push(event: Json): void {
    this.events.push({ ...event, sequence_number: this.seq++ });
  }

  private response(status: string, extra: Json = {}): Json {
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: null,
      model: this.options.model ?? UPSTREAM_MODEL,
      output: status === 'in_progress' ? [] : structuredClone(this.output),
      parallel_tool_calls: true,
      store: false,
      temperature: 1,
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      usage: null,
      metadata: {},
      ...extra,
    };
  }

  /** Announces an item and returns its output index and id. */
  private open(item: Json): { at: { item_id: string; output_index: number }; item: Json } {
    const output_index = this.output.length;
    this.output.push(item);
    this.itemIds.push(item.id);
    this.push({ type: 'response.output_item.added', output_index, item: structuredClone(item) });
    return { at: { item_id: item.id, output_index }, item };
  }

  private done(output_index: number, item: Json): void {
    this.output[output_index] = item;
    this.push({ type: 'response.output_item.done', output_index, item: structuredClone(item) });
  }

  /** An assistant message; `citations` are announced while the text streams, after the deltas they cite. */
  message(text: string, options: { citations?: Citation[]; pieces?: string[] } = {}): this {
    const { at, item } = this.open({ id: upstreamId('msg'), type: 'message', status: 'in_progress', content: [], role: 'assistant' });
    this.push({ type: 'response.content_part.added', ...at, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    const annotations: Json[] = [];
    const pending = [...(options.citations ?? [])];
    let written = '';
    for (const delta of options.pieces ?? pieces(text)) {
      written += delta;
      this.push({ type: 'response.output_text.delta', ...at, content_index: 0, delta, logprobs: [], obfuscation: 'x1y2' });
      while (pending.length && pending[0].end <= written.length) {
        const c = pending.shift()!;
        const annotation = { type: 'url_citation', url: c.url, title: c.title, start_index: c.start, end_index: c.end };
        this.push({ type: 'response.output_text.annotation.added', ...at, content_index: 0, annotation_index: annotations.length, annotation });
        annotations.push(annotation);
      }
    }
    const part = { type: 'output_text', text, annotations, logprobs: [] };
    this.push({ type: 'response.output_text.done', ...at, content_index: 0, text, logprobs: [] });
    this.push({ type: 'response.content_part.done', ...at, content_index: 0, part });
    this.done(at.output_index, { ...item, status: 'completed', content: [part] });
    return this;
  }

  refusal(refusal: string): this {
    const { at, item } = this.open({ id: upstreamId('msg'), type: 'message', status: 'in_progress', content: [], role: 'assistant' });
    this.push({ type: 'response.content_part.added', ...at, content_index: 0, part: { type: 'refusal', refusal: '' } });
    for (const delta of pieces(refusal)) this.push({ type: 'response.refusal.delta', ...at, content_index: 0, delta });
    const part = { type: 'refusal', refusal };
    this.push({ type: 'response.refusal.done', ...at, content_index: 0, refusal });
    this.push({ type: 'response.content_part.done', ...at, content_index: 0, part });
    this.done(at.output_index, { ...item, status: 'completed', content: [part] });
    return this;
  }

  /** A reasoning item: raw `reasoning_text` (gpt-oss style), then summary parts; `encrypted` as asked by include. */
  reasoning(options: { text?: string; summary?: string[]; encrypted?: string }): this {
    const { at, item } = this.open({ id: upstreamId('rs'), type: 'reasoning', summary: [] });
    const content: Json[] = [];
    if (options.text !== undefined) {
      this.push({ type: 'response.content_part.added', ...at, content_index: 0, part: { type: 'reasoning_text', text: '' } });
      for (const delta of pieces(options.text)) this.push({ type: 'response.reasoning_text.delta', ...at, content_index: 0, delta });
      this.push({ type: 'response.reasoning_text.done', ...at, content_index: 0, text: options.text });
      const part = { type: 'reasoning_text', text: options.text };
      this.push({ type: 'response.content_part.done', ...at, content_index: 0, part });
      content.push(part);
    }
    const summary: Json[] = [];
    (options.summary ?? []).forEach((text, summary_index) => {
      this.push({ type: 'response.reasoning_summary_part.added', ...at, summary_index, part: { type: 'summary_text', text: '' } });
      for (const delta of pieces(text)) this.push({ type: 'response.reasoning_summary_text.delta', ...at, summary_index, delta, obfuscation: 'ab' });
      this.push({ type: 'response.reasoning_summary_text.done', ...at, summary_index, text });
      this.push({ type: 'response.reasoning_summary_part.done', ...at, summary_index, part: { type: 'summary_text', text } });
      summary.push({ type: 'summary_text', text });
    });
    const final: Json = { ...item, summary };
    if (content.length) final.content = content;
    if (options.encrypted !== undefined) final.encrypted_content = options.encrypted;
    this.done(at.output_index, final);
    return this;
  }

  functionCall(name: string, args: string, callId = upstreamId('call')): this {
    const { at, item } = this.open({ id: upstreamId('fc'), type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name });
    for (const delta of args.match(/.{1,6}/gs) ?? []) this.push({ type: 'response.function_call_arguments.delta', ...at, delta });
    this.push({ type: 'response.function_call_arguments.done', ...at, name, arguments: args });
    this.done(at.output_index, { ...item, status: 'completed', arguments: args });
    return this;
  }

  customToolCall(name: string, input: string, callId = upstreamId('call')): this {
    const { at, item } = this.open({ id: upstreamId('ctc'), type: 'custom_tool_call', call_id: callId, name, input: '' });
    for (const delta of pieces(input)) this.push({ type: 'response.custom_tool_call_input.delta', ...at, delta });
    this.push({ type: 'response.custom_tool_call_input.done', ...at, input });
    this.done(at.output_index, { ...item, input });
    return this;
  }

  webSearch(query: string, sources: string[] = []): this {
    const { at, item } = this.open({ id: upstreamId('ws'), type: 'web_search_call', status: 'in_progress', action: { type: 'search', query } });
    this.push({ type: 'response.web_search_call.in_progress', ...at });
    this.push({ type: 'response.web_search_call.searching', ...at });
    this.push({ type: 'response.web_search_call.completed', ...at });
    const action = { type: 'search', query, ...(sources.length ? { sources: sources.map((url) => ({ type: 'url', url })) } : {}) };
    this.done(at.output_index, { ...item, status: 'completed', action });
    return this;
  }

  fileSearch(queries: string[], results: Array<{ file_id: string; filename: string; score: number; text: string }>): this {
    const { at, item } = this.open({ id: upstreamId('fs'), type: 'file_search_call', status: 'in_progress', queries: [], results: null });
    this.push({ type: 'response.file_search_call.in_progress', ...at });
    this.push({ type: 'response.file_search_call.searching', ...at });
    this.push({ type: 'response.file_search_call.completed', ...at });
    this.done(at.output_index, { ...item, status: 'completed', queries, results: results.map((r) => ({ ...r, attributes: {} })) });
    return this;
  }

  codeInterpreter(code: string, logs: string): this {
    const container_id = upstreamId('cntr');
    const { at, item } = this.open({ id: upstreamId('ci'), type: 'code_interpreter_call', status: 'in_progress', container_id, code: '', outputs: null });
    this.push({ type: 'response.code_interpreter_call.in_progress', ...at });
    for (const delta of code.match(/.{1,5}/gs) ?? []) this.push({ type: 'response.code_interpreter_call_code.delta', ...at, delta });
    this.push({ type: 'response.code_interpreter_call_code.done', ...at, code });
    this.push({ type: 'response.code_interpreter_call.interpreting', ...at });
    this.push({ type: 'response.code_interpreter_call.completed', ...at });
    this.done(at.output_index, { ...item, status: 'completed', code, outputs: [{ type: 'logs', logs }] });
    return this;
  }

  imageGeneration(partials: string[], result: string): this {
    const { at, item } = this.open({ id: upstreamId('ig'), type: 'image_generation_call', status: 'in_progress', result: null });
    this.push({ type: 'response.image_generation_call.in_progress', ...at });
    this.push({ type: 'response.image_generation_call.generating', ...at });
    partials.forEach((partial_image_b64, partial_image_index) =>
      this.push({ type: 'response.image_generation_call.partial_image', ...at, partial_image_index, partial_image_b64, size: '1024x1024', output_format: 'png' }),
    );
    this.push({ type: 'response.image_generation_call.completed', ...at });
    this.done(at.output_index, { ...item, status: 'completed', result });
    return this;
  }

  mcpListTools(server_label: string, tools: Array<{ name: string; description?: string }>): this {
    const { at, item } = this.open({ id: upstreamId('mcpl'), type: 'mcp_list_tools', server_label, tools: [] });
    this.push({ type: 'response.mcp_list_tools.in_progress', ...at });
    this.push({ type: 'response.mcp_list_tools.completed', ...at });
    this.done(at.output_index, { ...item, tools: tools.map((t) => ({ ...t, input_schema: { type: 'object', properties: {} } })) });
    return this;
  }

  /** An MCP call the upstream runs: `output` completes it, `error` fails it. */
  mcpCall(server_label: string, name: string, args: string, outcome: { output: string } | { error: string }): this {
    const { at, item } = this.open({ id: upstreamId('mcp'), type: 'mcp_call', status: 'in_progress', server_label, name, arguments: '' });
    this.push({ type: 'response.mcp_call.in_progress', ...at });
    for (const delta of args.match(/.{1,4}/gs) ?? []) this.push({ type: 'response.mcp_call_arguments.delta', ...at, delta });
    this.push({ type: 'response.mcp_call_arguments.done', ...at, arguments: args });
    if ('output' in outcome) {
      this.push({ type: 'response.mcp_call.completed', ...at });
      this.done(at.output_index, { ...item, status: 'completed', arguments: args, output: outcome.output });
    } else {
      this.push({ type: 'response.mcp_call.failed', ...at });
      const error = { type: 'mcp_tool_execution_error', content: [{ type: 'text', text: outcome.error }] };
      this.done(at.output_index, { ...item, status: 'failed', arguments: args, error });
    }
    return this;
  }

  /** Starts a message and streams `text` into it without closing it (for failures mid-item). */
  openMessage(text: string): this {
    const { at } = this.open({ id: upstreamId('msg'), type: 'message', status: 'in_progress', content: [], role: 'assistant' });
    this.push({ type: 'response.content_part.added', ...at, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    for (const delta of pieces(text)) this.push({ type: 'response.output_text.delta', ...at, content_index: 0, delta, logprobs: [] });
    return this;
  }

  /** Any event, as it is (a sequence number is added). */
  raw(event: Json): this {
    this.push(event);
    return this;
  }

  completed(usage: UpstreamUsage = { input: 9, output: 4 }): Script {
    this.push({ type: 'response.completed', response: this.response('completed', { usage: toUsage(usage), completed_at: this.createdAt + 1 }) });
    return { events: this.events };
  }

  incomplete(reason: 'max_output_tokens' | 'content_filter', usage: UpstreamUsage = { input: 9, output: 16 }): Script {
    this.push({ type: 'response.incomplete', response: this.response('incomplete', { usage: toUsage(usage), incomplete_details: { reason } }) });
    return { events: this.events };
  }

  failed(code: string, message: string): Script {
    this.push({ type: 'response.failed', response: this.response('failed', { error: { code, message } }) });
    return { events: this.events };
  }

  /** An `error` event ends the stream (what OpenAI sends for a failure it reports outside a response). */
  error(code: string, message: string): Script {
    this.push({ type: 'error', code, message, param: null });
    return { events: this.events };
  }

  /** The events so far, without a terminal event (for a stream that stalls or breaks off). */
  unfinished(): Script {
    return { events: this.events };
  }
}

function toUsage(u: UpstreamUsage): Json {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached ?? 0 },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
    total_tokens: u.input + u.output,
  };
}

export const upstreamResponse = (options?: { model?: string; firstSequenceNumber?: number }) => new ResponseBuilder(options);

export async function startFakeResponsesUpstream(options: { models?: string[]; apiKey?: string } = {}): Promise<FakeResponsesUpstream> {
  const queue: Script[] = [];
  const requests: any[] = [];
  const headers: http.IncomingHttpHeaders[] = [];

  const server = await startFakeServer(async (req, res) => {
    const body = await acceptUpstreamRequest(req, res, { path: '/v1/responses', models: options.models ?? [UPSTREAM_MODEL], apiKey: options.apiKey });
    if (body === undefined) return;
    requests.push(body);
    headers.push(req.headers);
    const script = queue.shift() ?? upstreamResponse().message('Hello from upstream').completed();
    if (script.status && script.status >= 300) return sendError(res, script.status, script.body ?? { error: { message: `HTTP ${script.status}` } });
    const frames = (script.events ?? []).map((e) => (typeof e === 'string' ? `data: ${e}\n\n` : `event: ${(e as Json).type}\ndata: ${JSON.stringify(e)}\n\n`));
    await sendFrames(res, frames, script);
  });

  return {
    url: server.url,
    requests,
    headers,
    script: (...next) => void queue.push(...next),
    get closedConnections() {
      return server.closedConnections;
    },
    whenClosed: (count) => server.whenClosed(count),
    close: () => server.close(),
  };
}
