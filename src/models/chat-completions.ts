// The OpenAI-compatible Chat Completions back-end (vLLM, Ollama, llama.cpp, LM Studio, hosted
// APIs). It is the hot path of most deployments, so it reads the upstream with node:http and
// Node streams, parses SSE with eventsource-parser, JSON.parses each payload once and pushes
// parts into the sink in the same tick (see DESIGN.md, "Models").
import http from 'node:http';
import https from 'node:https';
import { createParser, type EventSourceParser, type ParseError } from 'eventsource-parser';
import { newId } from '../protocol/ids.js';
import { buildChatRequest } from './chat-request.js';
import {
  ModelError,
  type FinishReason,
  type ModelBackend,
  type ModelInfo,
  type ModelRequest,
  type PartSink,
  type Usage,
} from './types.js';

export interface ChatCompletionsOptions {
  /** e.g. `http://localhost:11434/v1`; `/chat/completions` and `/models` are appended. */
  baseUrl: string;
  apiKey?: string;
  /** Served model ids; when absent, asks the upstream's `/models`. */
  models?: string[];
  /** The upstream request fails when no bytes arrive for this long. */
  idleTimeoutMs: number;
}

export function createChatCompletionsBackend(options: ChatCompletionsOptions): ModelBackend {
  const upstream = new Upstream(options);
  return {
    async listModels() {
      if (options.models) return options.models.map((id) => ({ id, owned_by: 'upstream' }));
      return upstream.listModels();
    },
    stream(request, sink) {
      return new Promise<void>((resolve, reject) => {
        new ChatStream(upstream, JSON.stringify(buildChatRequest(request)), request.signal, sink, resolve, reject);
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

class Upstream {
  private readonly agent: http.Agent;
  private readonly send: typeof http.request;
  private readonly hostname: string;
  private readonly port: string;
  private readonly prefix: string;
  private readonly authorization: string | undefined;
  readonly idleTimeoutMs: number;

  constructor(options: ChatCompletionsOptions) {
    const url = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    const secure = url.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.send = secure ? https.request : http.request;
    this.hostname = url.hostname.replace(/^\[|\]$/g, ''); // IPv6 literals come bracketed
    this.port = url.port;
    this.prefix = url.pathname;
    this.authorization = options.apiKey ? `Bearer ${options.apiKey}` : undefined;
    this.idleTimeoutMs = options.idleTimeoutMs;
  }

  request(method: 'GET' | 'POST', path: string, body?: string): http.ClientRequest {
    const headers: http.OutgoingHttpHeaders = { accept: body ? 'text/event-stream' : 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    if (this.authorization) headers.authorization = this.authorization;
    return this.send({
      hostname: this.hostname,
      port: this.port,
      path: this.prefix + path,
      method,
      headers,
      agent: this.agent,
    });
  }

  listModels(): Promise<ModelInfo[]> {
    return new Promise((resolve) => {
      const req = this.request('GET', 'models');
      req.setTimeout(this.idleTimeoutMs, () => req.destroy());
      req.on('error', () => resolve([]));
      req.on('response', (res) => {
        readBody(res, (text) => {
          if (res.statusCode === undefined || res.statusCode >= 300) return resolve([]);
          try {
            const data = (JSON.parse(text) as { data?: Array<{ id?: unknown; owned_by?: unknown }> }).data;
            if (!Array.isArray(data)) return resolve([]);
            resolve(
              data
                .filter((m) => typeof m?.id === 'string')
                .map((m) => ({ id: m.id as string, owned_by: typeof m.owned_by === 'string' ? m.owned_by : 'upstream' })),
            );
          } catch {
            resolve([]);
          }
        });
      });
      req.end();
    });
  }
}

const MAX_ERROR_BODY = 64 * 1024;

function readBody(res: http.IncomingMessage, done: (text: string) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    if (text.length < MAX_ERROR_BODY) text += chunk;
  });
  res.on('end', () => done(text));
  res.on('error', () => done(text));
}

function httpError(status: number, text: string): ModelError {
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const error = body?.error as { message?: unknown } | string | undefined;
    const candidate = typeof error === 'string' ? error : (error?.message ?? body?.message ?? body?.detail);
    if (typeof candidate === 'string' && candidate) message = candidate;
  } catch {
    // not JSON: use the text
  }
  message ??= text.trim().slice(0, 500) || `upstream returned HTTP ${status}`;
  return new ModelError(message, status === 429 ? 'rate_limit_exceeded' : 'server_error', status);
}

// ---------------------------------------------------------------------------------------------
// One streamed model step

interface ChatDelta {
  content?: string | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: Array<{ index?: number; id?: string | null; function?: { name?: string | null; arguments?: string | null } }>;
}

interface ChatChunk {
  choices?: Array<{ delta?: ChatDelta | null; finish_reason?: string | null }>;
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
    completion_tokens_details?: { reasoning_tokens?: number } | null;
  } | null;
  error?: { message?: string; code?: unknown } | string;
}

type EndType = 'text-end' | 'refusal-end' | 'reasoning-end' | 'tool-call-end';

interface ToolCall {
  id: string;
  callId: string;
  name: string;
  started: boolean;
  /** Arguments that arrived before the name (rare); sent right after the start. */
  pending: string;
}

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

class ChatStream {
  private readonly parser: EventSourceParser;
  private readonly timer: NodeJS.Timeout;
  private req!: http.ClientRequest;
  private gotResponse = false;
  private retried = false;
  private settled = false;

  /** Open parts in the order they were opened, so they close in that order. */
  private readonly open: Array<{ id: string; end: EndType }> = [];
  private reasoningId: string | null = null;
  private reasoningCount = 0;
  private textId: string | null = null;
  private refusalId: string | null = null;
  private readonly calls: ToolCall[] = [];
  private finishReason: FinishReason | null = null;
  private usage: Usage | undefined;

  constructor(
    private readonly upstream: Upstream,
    private readonly body: string,
    private readonly signal: AbortSignal,
    private readonly sink: PartSink,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.parser = createParser({ onEvent: (event) => this.onEvent(event.data), onError: onParseError });
    this.timer = setTimeout(this.onIdle, upstream.idleTimeoutMs);
    if (signal.aborted) {
      this.settled = true;
      clearTimeout(this.timer);
      reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', this.onAbort);
    this.send();
  }

  private send(): void {
    const req = (this.req = this.upstream.request('POST', 'chat/completions', this.body));
    req.on('response', (res) => this.onResponse(req, res));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (this.settled || req !== this.req) return;
      // A keep-alive socket the upstream closed while idle: the request never reached it.
      if (!this.gotResponse && !this.retried && req.reusedSocket && RETRYABLE.has(error.code ?? '')) {
        this.retried = true;
        this.send();
        return;
      }
      this.fail(new ModelError(`upstream request failed: ${error.message}`));
    });
    req.end(this.body);
  }

  private onResponse(req: http.ClientRequest, res: http.IncomingMessage): void {
    if (this.settled || req !== this.req) return void res.resume();
    this.gotResponse = true;
    this.timer.refresh();
    const status = res.statusCode ?? 0;
    const type = res.headers['content-type'] ?? '';
    if (status < 200 || status >= 300 || type.includes('application/json')) {
      readBody(res, (text) => {
        if (status >= 200 && status < 300) {
          // Some servers answer 200 with a JSON error, or ignore `stream: true`.
          const error = httpError(status, text);
          this.fail(new ModelError(`upstream did not stream: ${error.message}`));
        } else {
          this.fail(httpError(status, text));
        }
      });
      return;
    }
    res.setEncoding('utf8');
    res.on('data', this.onData);
    res.on('end', this.onEnd);
    res.on('error', (error) => this.fail(new ModelError(`upstream stream ended unexpectedly: ${error.message}`)));
    res.on('close', () => clearTimeout(this.timer));
  }

  private readonly onData = (chunk: string): void => {
    if (this.settled) return;
    this.timer.refresh();
    try {
      this.parser.feed(chunk);
    } catch (error) {
      this.fail(error);
    }
  };

  private readonly onEnd = (): void => {
    clearTimeout(this.timer);
    if (this.settled) return;
    try {
      this.parser.reset({ consume: true }); // a last event without its blank line
      if (this.settled) return;
      if (this.finishReason === null) throw new ModelError('upstream stream ended unexpectedly');
      this.finish();
    } catch (error) {
      this.fail(error);
    }
  };

  private readonly onIdle = (): void => {
    // After a finish the timer only guards against an upstream that never ends its response.
    if (this.settled) return void this.req.destroy();
    this.fail(new ModelError(`upstream sent nothing for ${this.upstream.idleTimeoutMs} ms`));
  };

  private readonly onAbort = (): void => {
    this.fail(this.signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
  };

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onAbort);
    this.req.destroy();
    this.reject(error);
  }

  // --- parsing ---

  private onEvent(data: string): void {
    if (this.settled) return;
    if (data === '[DONE]') return this.finish();
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      throw new ModelError(`malformed upstream event: ${data.length > 200 ? data.slice(0, 200) + '…' : data}`);
    }
    if (chunk.error) {
      const message = typeof chunk.error === 'string' ? chunk.error : chunk.error.message;
      const code = typeof chunk.error === 'string' ? undefined : chunk.error.code;
      const rateLimited = code === 'rate_limit_exceeded' || code === 429 || code === '429';
      throw new ModelError(message || 'upstream error', rateLimited ? 'rate_limit_exceeded' : 'server_error');
    }
    const choice = chunk.choices?.[0];
    if (choice) {
      const delta = choice.delta;
      if (delta) {
        const reasoning = delta.reasoning_content ?? delta.reasoning;
        if (typeof reasoning === 'string' && reasoning !== '') this.reasoningDelta(reasoning);
        if (typeof delta.content === 'string' && delta.content !== '') this.textDelta(delta.content);
        if (typeof delta.refusal === 'string' && delta.refusal !== '') this.refusalDelta(delta.refusal);
        if (delta.tool_calls) this.toolDeltas(delta.tool_calls);
      }
      if (choice.finish_reason) this.finishReason = mapFinishReason(choice.finish_reason);
    }
    if (chunk.usage) {
      const u = chunk.usage;
      this.usage = { inputTokens: u.prompt_tokens ?? 0, outputTokens: u.completion_tokens ?? 0 };
      const reasoningTokens = u.completion_tokens_details?.reasoning_tokens;
      const cachedTokens = u.prompt_tokens_details?.cached_tokens;
      if (reasoningTokens !== undefined) this.usage.reasoningTokens = reasoningTokens;
      if (cachedTokens !== undefined) this.usage.cachedInputTokens = cachedTokens;
    }
  }

  private reasoningDelta(delta: string): void {
    if (this.reasoningId === null) {
      this.reasoningId = `reasoning-${this.reasoningCount++}`;
      this.start('reasoning-start', 'reasoning-end', this.reasoningId);
    }
    this.sink({ type: 'reasoning-delta', id: this.reasoningId, delta });
  }

  private endReasoning(): void {
    if (this.reasoningId === null) return;
    const id = this.reasoningId;
    this.reasoningId = null;
    this.open.splice(this.open.findIndex((p) => p.id === id), 1);
    this.sink({ type: 'reasoning-end', id });
  }

  private textDelta(delta: string): void {
    if (this.textId === null) {
      this.endReasoning();
      this.textId = 'text-0';
      this.start('text-start', 'text-end', this.textId);
    }
    this.sink({ type: 'text-delta', id: this.textId, delta });
  }

  private refusalDelta(delta: string): void {
    if (this.refusalId === null) {
      this.endReasoning();
      this.refusalId = 'refusal-0';
      this.start('refusal-start', 'refusal-end', this.refusalId);
    }
    this.sink({ type: 'refusal-delta', id: this.refusalId, delta });
  }

  private toolDeltas(deltas: NonNullable<ChatDelta['tool_calls']>): void {
    for (let i = 0; i < deltas.length; i++) {
      const d = deltas[i];
      let call: ToolCall | undefined;
      if (typeof d.index === 'number') {
        call = this.calls[d.index];
      } else {
        // Some servers (Gemini's compatibility layer) omit `index`: a new id means a new call.
        const last = this.calls[this.calls.length - 1];
        call = last && (!d.id || d.id === last.callId) ? last : undefined;
      }
      if (!call) {
        const index = typeof d.index === 'number' ? d.index : this.calls.length;
        call = { id: `tool-${index}`, callId: d.id || newId('call'), name: '', started: false, pending: '' };
        this.calls[index] = call;
      }
      const fn = d.function;
      if (!call.started) {
        if (fn?.name) call.name = fn.name;
        if (fn?.arguments) call.pending += fn.arguments;
        if (call.name) {
          call.started = true;
          this.endReasoning();
          this.sink({ type: 'tool-call-start', id: call.id, callId: call.callId, name: call.name });
          this.open.push({ id: call.id, end: 'tool-call-end' });
          if (call.pending) this.sink({ type: 'tool-call-delta', id: call.id, delta: call.pending });
          call.pending = '';
        }
      } else if (fn?.arguments) {
        this.sink({ type: 'tool-call-delta', id: call.id, delta: fn.arguments });
      }
    }
  }

  private start(type: 'text-start' | 'refusal-start' | 'reasoning-start', end: EndType, id: string): void {
    this.sink({ type, id });
    this.open.push({ id, end });
  }

  private finish(): void {
    if (this.settled) return;
    for (const part of this.open) this.sink({ type: part.end, id: part.id });
    this.open.length = 0;
    let reason = this.finishReason ?? 'stop';
    // Some servers report `stop` for a turn that ends in tool calls.
    if (reason === 'stop' && this.calls.some((c) => c?.started)) reason = 'tool-calls';
    this.sink(this.usage ? { type: 'finish', reason, usage: this.usage } : { type: 'finish', reason });
    this.settled = true;
    this.signal.removeEventListener('abort', this.onAbort);
    this.resolve();
  }
}

function onParseError(error: ParseError): void {
  // Unknown fields and bad `retry` lines are ignored, as the SSE spec says.
  if (error.type === 'max-buffer-size-exceeded') throw new ModelError(`malformed upstream event: ${error.message}`);
}

function mapFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'stop';
  }
}
