// The OpenAI Responses back-end: a pass-through to an upstream that speaks Responses itself
// (OpenAI, or another Responses server). One model step is one `POST {baseUrl}/responses` with
// `stream: true`, and every item-level event the upstream streams is relayed as it is: the
// EventWriter re-stamps its sequence number and applies it to Parley's snapshot, item ids stay
// the upstream's, and the built-in tools the upstream hosts (web_search, file_search,
// code_interpreter, image_generation, mcp) reach the client with all their events. The
// upstream's lifecycle events are not relayed (Parley's response has its own id, and its own
// created / in_progress): its terminal event supplies status, usage and error to Parley's.
// Parley keeps the state, so the upstream gets the whole context with `store: false`.
import type { ResponseStreamEvent } from '../protocol/types.js';
import { ModelError, type FinishReason, type ModelBackend, type ModelRequest, type Usage } from './types.js';
import { errorCode, excerpt, SseStream, streamStep, Upstream, type UpstreamOptions } from './upstream-http.js';

export interface ResponsesOptions extends UpstreamOptions {
  /** Served model ids; when absent, asks the upstream's `/models`. */
  models?: string[];
}

export function createResponsesBackend(options: ResponsesOptions): ModelBackend {
  const upstream = new Upstream(options);
  return {
    hostsBuiltInTools: true,
    async listModels() {
      if (options.models) return options.models.map((id) => ({ id, owned_by: 'upstream' }));
      return upstream.listModels();
    },
    stream(request, sink) {
      return streamStep(ResponsesStream, upstream, 'responses', JSON.stringify(buildResponsesRequest(request)), request.signal, sink);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The request

/**
 * The upstream request: the client's request as it declared it (tools, include, the context
 * untranslated), with the whole context Parley resolved as `input`. `metadata` stays Parley's.
 */
export function buildResponsesRequest(request: ModelRequest): Record<string, unknown> {
  const declared = request.declared;
  const body: Record<string, unknown> = {
    model: request.model,
    input: upstreamInput(declared?.input ?? request.input),
    stream: true,
    store: false,
  };
  if (request.instructions) body.instructions = request.instructions;
  const tools = declared?.tools ?? request.tools;
  if (tools.length > 0) {
    body.tools = tools;
    body.tool_choice = request.toolChoice;
    body.parallel_tool_calls = request.parallelToolCalls;
  }
  const text: Record<string, unknown> = {};
  if (request.textFormat.type !== 'text') text.format = request.textFormat;
  if (declared?.verbosity) text.verbosity = declared.verbosity;
  if (Object.keys(text).length > 0) body.text = text;
  if (request.temperature !== null) body.temperature = request.temperature;
  if (request.topP !== null) body.top_p = request.topP;
  if (request.maxOutputTokens !== null) body.max_output_tokens = request.maxOutputTokens;
  if (request.reasoning) body.reasoning = request.reasoning;
  if (declared?.include?.length) body.include = declared.include;
  if (request.promptCacheKey) body.prompt_cache_key = request.promptCacheKey;
  if (request.user) body.safety_identifier = request.user;
  if (declared?.maxToolCalls != null) body.max_tool_calls = declared.maxToolCalls;
  if (declared?.topLogprobs != null) body.top_logprobs = declared.topLogprobs;
  if (declared?.truncation) body.truncation = declared.truncation;
  return body;
}

type LooseItem = { type?: string; role?: string; id?: unknown; encrypted_content?: unknown; [key: string]: unknown };

/**
 * The context as a `store: false` upstream can read it. Reasoning items without
 * `encrypted_content` are left out: the upstream kept nothing to resolve them by id (ask for
 * `include: ["reasoning.encrypted_content"]` to carry reasoning across turns). Items the client
 * wrote (its messages, tool outputs) go without the ids Parley stored them under.
 */
function upstreamInput(items: ModelRequest['input']): ModelRequest['input'] {
  const out: ModelRequest['input'] = [];
  for (const raw of items as LooseItem[]) {
    if (raw.type === 'reasoning' && typeof raw.encrypted_content !== 'string') continue;
    const clientWritten = (raw.type === 'message' && raw.role !== 'assistant') || raw.type?.endsWith('_output');
    if (clientWritten && raw.id !== undefined) {
      const { id: _id, ...rest } = raw;
      out.push(rest as unknown as ModelRequest['input'][number]);
    } else {
      out.push(raw as unknown as ModelRequest['input'][number]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One streamed model step

interface UpstreamResponse {
  status?: string;
  output?: Array<{ type?: string }>;
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    input_tokens_details?: { cached_tokens?: number } | null;
    output_tokens_details?: { reasoning_tokens?: number } | null;
  } | null;
  incomplete_details?: { reason?: string } | null;
  error?: { code?: unknown; message?: unknown } | null;
}

interface UpstreamEvent {
  type?: unknown;
  response?: UpstreamResponse;
  /** An `error` event: its fields at the top level, or (some servers) under `error`. */
  code?: unknown;
  message?: unknown;
  error?: { code?: unknown; message?: unknown };
  logprobs?: unknown;
}

const CLIENT_CALLS = new Set(['function_call', 'custom_tool_call']);

class ResponsesStream extends SseStream {
  protected onEndOfStream(): void {
    throw new ModelError('upstream stream ended before the response did');
  }

  protected onEvent(data: string): void {
    if (this.settled || data === '[DONE]') return;
    let event: UpstreamEvent;
    try {
      event = JSON.parse(data) as UpstreamEvent;
    } catch {
      throw new ModelError(`malformed upstream event: ${excerpt(data)}`);
    }
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
      throw new ModelError(`malformed upstream event: ${excerpt(data)}`);
    }
    switch (event.type) {
      case 'response.created':
      case 'response.queued':
      case 'response.in_progress':
      case 'keepalive':
        return;
      case 'response.completed':
        return this.finish(event.response, event.response?.output?.some((item) => CLIENT_CALLS.has(item?.type ?? '')) ? 'tool-calls' : 'stop');
      case 'response.incomplete':
        return this.finish(event.response, event.response?.incomplete_details?.reason === 'content_filter' ? 'content-filter' : 'length');
      case 'response.failed': {
        const error = event.response?.error;
        throw upstreamError(error?.message, error?.code, event.response?.status === 'cancelled' ? 'the upstream cancelled the response' : undefined);
      }
      case 'error':
        throw upstreamError(event.message ?? event.error?.message, event.code ?? event.error?.code);
      case 'response.output_text.delta':
      case 'response.output_text.done':
        // Required by the official schema; some Responses servers leave it out.
        event.logprobs ??= [];
    }
    this.sink({ type: 'event', event: event as ResponseStreamEvent });
  }

  private finish(response: UpstreamResponse | undefined, reason: FinishReason): void {
    const usage = toUsage(response?.usage);
    this.sink(usage ? { type: 'finish', reason, usage } : { type: 'finish', reason });
    this.succeed();
  }
}

function upstreamError(message: unknown, code: unknown, fallback = 'the upstream response failed'): ModelError {
  return new ModelError(typeof message === 'string' && message ? message : fallback, errorCode(code));
}

function toUsage(usage: UpstreamResponse['usage']): Usage | undefined {
  if (!usage || typeof usage.input_tokens !== 'number' || typeof usage.output_tokens !== 'number') return undefined;
  const result: Usage = { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens };
  const cached = usage.input_tokens_details?.cached_tokens;
  const reasoning = usage.output_tokens_details?.reasoning_tokens;
  if (typeof cached === 'number') result.cachedInputTokens = cached;
  if (typeof reasoning === 'number') result.reasoningTokens = reasoning;
  return result;
}
