// The Anthropic Messages back-end (`protocol: anthropic`). It is not the hot path, so, as
// DESIGN.md prefers, it adapts the AI SDK's maintained provider (@ai-sdk/anthropic, whose
// LanguageModelV3 `doStream` writes the Messages body and parses the SSE stream) instead of a
// hand-written client. This file maps the provider's stream parts onto ModelParts, keeps each
// thinking block's signature for `encrypted_content`, adds the idle timeout and turns
// Anthropic's errors into ModelErrors.
import { createAnthropic } from '@ai-sdk/anthropic';
import {
  AISDKError,
  APICallError,
  type LanguageModelV3,
  type LanguageModelV3FinishReason,
  type LanguageModelV3StreamPart,
  type LanguageModelV3Usage,
  type SharedV3ProviderMetadata,
} from '@ai-sdk/provider';
import { buildAnthropicCall, REDACTED_THINKING_PREFIX } from './anthropic-request.js';
import { ModelError, type FinishReason, type ModelBackend, type ModelInfo, type ModelRequest, type PartSink, type Usage } from './types.js';
import { excerpt, httpError } from './upstream-http.js';

export interface AnthropicOptions {
  /** e.g. `https://api.anthropic.com/v1`; `/messages` and `/models` are appended. */
  baseUrl: string;
  /** Sent as `x-api-key`. */
  apiKey?: string;
  /** Served model ids; when absent, asks the upstream's `/models`. */
  models?: string[];
  /** The step fails when the upstream sends nothing for this long. */
  idleTimeoutMs: number;
}

export const ANTHROPIC_VERSION = '2023-06-01';

export function createAnthropicBackend(options: AnthropicOptions): ModelBackend {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const provider = createAnthropic({
    baseURL: baseUrl,
    // Without a configured key none is sent (a local proxy); the provider would otherwise fall
    // back to $ANTHROPIC_API_KEY, which is not Parley's setting.
    apiKey: options.apiKey ?? '',
    headers: options.apiKey ? undefined : ({ 'x-api-key': undefined } as unknown as Record<string, string>),
  });
  return {
    async listModels() {
      if (options.models) return options.models.map((id) => ({ id, owned_by: 'upstream' }));
      return listModels(baseUrl, options.apiKey, options.idleTimeoutMs);
    },
    stream(request, sink) {
      return streamStep(provider.messages(request.model), request, sink, options.idleTimeoutMs);
    },
  };
}

/** GET `{baseUrl}/models` (`{"data": [{"id", "display_name"}]}`); [] when the upstream cannot say. */
async function listModels(baseUrl: string, apiKey: string | undefined, timeoutMs: number): Promise<ModelInfo[]> {
  const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION, accept: 'application/json' };
  if (apiKey) headers['x-api-key'] = apiKey;
  try {
    const res = await fetch(`${baseUrl}/models?limit=1000`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return [];
    const data = ((await res.json()) as { data?: Array<{ id?: unknown }> })?.data;
    if (!Array.isArray(data)) return [];
    return data.filter((m) => typeof m?.id === 'string').map((m) => ({ id: m.id as string, owned_by: 'anthropic' }));
  } catch {
    return [];
  }
}

/** Runs one step; resolves once `finish` is pushed, rejects with a ModelError or the abort reason. */
async function streamStep(model: LanguageModelV3, request: ModelRequest, sink: PartSink, idleTimeoutMs: number): Promise<void> {
  if (request.signal.aborted) throw request.signal.reason;
  const idle = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    idle.abort();
  }, idleTimeoutMs);
  let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart> | undefined;
  try {
    const { stream } = await model.doStream({
      ...buildAnthropicCall(request),
      // Raw chunks include `ping` events: each one shows the upstream is alive.
      includeRawChunks: true,
      abortSignal: AbortSignal.any([request.signal, idle.signal]),
    });
    reader = stream.getReader();
    const adapter = new PartAdapter(sink);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new ModelError('upstream stream ended unexpectedly');
      timer.refresh();
      if (adapter.push(value)) break;
    }
  } catch (error) {
    clearTimeout(timer);
    idle.abort(); // drops the upstream request, whatever state it is in
    if (request.signal.aborted) throw request.signal.reason;
    if (timedOut) throw new ModelError(`upstream sent nothing for ${idleTimeoutMs} ms`);
    throw toModelError(error);
  }
  void drain(reader, timer);
}

/** After `message_stop` the upstream ends its response: read it to the end (or until idle) so the connection is reused. */
async function drain(reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>, timer: NodeJS.Timeout): Promise<void> {
  try {
    while (!(await reader.read()).done) timer.refresh();
  } catch {
    // gone after its last event, or idle: nothing is waiting for it
  } finally {
    clearTimeout(timer);
  }
}

/** LanguageModelV3 stream parts → ModelParts. The provider keys text and thinking by block index, tool calls by tool_use id. */
class PartAdapter {
  /** Signature (or redacted data) of each open thinking block. */
  private readonly encrypted = new Map<string, string>();
  /** Open tool calls, and whether any input streamed for them. */
  private readonly calls = new Map<string, { streamed: boolean }>();
  private calledTools = false;

  constructor(private readonly sink: PartSink) {}

  /** Pushes what `part` means; true once the step has finished. Throws on an `error` part. */
  push(part: LanguageModelV3StreamPart): boolean {
    const sink = this.sink;
    switch (part.type) {
      case 'text-start':
      case 'text-end':
        sink({ type: part.type, id: part.id });
        return false;
      case 'text-delta':
        if (part.delta) sink({ type: 'text-delta', id: part.id, delta: part.delta });
        return false;
      case 'reasoning-start': {
        const redacted = anthropicMetadata(part.providerMetadata).redactedData;
        if (typeof redacted === 'string') this.encrypted.set(part.id, REDACTED_THINKING_PREFIX + redacted);
        sink({ type: 'reasoning-start', id: part.id });
        return false;
      }
      case 'reasoning-delta': {
        // `signature_delta` arrives as an empty delta carrying the signature.
        const signature = anthropicMetadata(part.providerMetadata).signature;
        if (typeof signature === 'string') this.encrypted.set(part.id, (this.encrypted.get(part.id) ?? '') + signature);
        if (part.delta) sink({ type: 'reasoning-delta', id: part.id, delta: part.delta });
        return false;
      }
      case 'reasoning-end': {
        const encryptedContent = this.encrypted.get(part.id);
        this.encrypted.delete(part.id);
        sink(encryptedContent === undefined ? { type: 'reasoning-end', id: part.id } : { type: 'reasoning-end', id: part.id, encryptedContent });
        return false;
      }
      case 'tool-input-start':
        if (part.providerExecuted) return false; // Anthropic's own server tools are never offered
        this.calls.set(part.id, { streamed: false });
        this.calledTools = true;
        sink({ type: 'tool-call-start', id: part.id, callId: part.id, name: part.toolName });
        return false;
      case 'tool-input-delta': {
        const call = this.calls.get(part.id);
        if (!call || !part.delta) return false;
        call.streamed = true;
        sink({ type: 'tool-call-delta', id: part.id, delta: part.delta });
        return false;
      }
      case 'tool-call': {
        // Comes right after `tool-input-end`, with the whole input: a call without parameters
        // streams none, and its arguments are then `{}`.
        const call = this.calls.get(part.toolCallId);
        if (!call) return false;
        this.calls.delete(part.toolCallId);
        if (!call.streamed) sink({ type: 'tool-call-delta', id: part.toolCallId, delta: part.input || '{}' });
        sink({ type: 'tool-call-end', id: part.toolCallId });
        return false;
      }
      case 'finish': {
        for (const id of this.calls.keys()) sink({ type: 'tool-call-end', id });
        this.calls.clear();
        const reason = finishReason(part.finishReason, this.calledTools);
        const usage = toUsage(part.usage);
        sink(usage ? { type: 'finish', reason, usage } : { type: 'finish', reason });
        return true;
      }
      case 'error':
        throw toModelError(part.error);
      default:
        // stream-start (warnings), response-metadata, raw chunks, tool-input-end (the call ends
        // at `tool-call`), sources: nothing to say.
        return false;
    }
  }
}

function anthropicMetadata(metadata: SharedV3ProviderMetadata | undefined): Record<string, unknown> {
  return (metadata?.anthropic as Record<string, unknown> | undefined) ?? {};
}

function finishReason(reason: LanguageModelV3FinishReason, calledTools: boolean): FinishReason {
  switch (reason.unified) {
    case 'length': // max_tokens, model_context_window_exceeded
    case 'content-filter': // refusal
    case 'tool-calls':
      return reason.unified;
    default: // end_turn, stop_sequence, pause_turn, anything newer
      return calledTools ? 'tool-calls' : 'stop';
  }
}

/** input_tokens here include cache reads and writes; cache reads are also `cachedInputTokens`. */
function toUsage(usage: LanguageModelV3Usage): Usage | undefined {
  if (usage.inputTokens.total === undefined && usage.outputTokens.total === undefined) return undefined;
  const result: Usage = { inputTokens: usage.inputTokens.total ?? 0, outputTokens: usage.outputTokens.total ?? 0 };
  if (usage.inputTokens.cacheRead !== undefined) result.cachedInputTokens = usage.inputTokens.cacheRead;
  if (usage.outputTokens.reasoning !== undefined) result.reasoningTokens = usage.outputTokens.reasoning;
  return result;
}

interface AnthropicErrorBody {
  type: string;
  message: string;
}

/** `{"type": "error", "error": {"type", "message"}}` or its inner object. */
function anthropicError(value: unknown): AnthropicErrorBody | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as { type?: unknown; message?: unknown; error?: unknown };
  if (v.type === 'error') return anthropicError(v.error);
  return typeof v.type === 'string' && typeof v.message === 'string' ? { type: v.type, message: v.message } : null;
}

function parseJson(text: string | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * HTTP errors and `event: error` become ModelErrors whose message starts with Anthropic's error
 * type (`overloaded_error: Overloaded`); rate limits (HTTP 429, `rate_limit_error`) get the code
 * `rate_limit_exceeded`, everything else `server_error`. An error that is not the upstream's or
 * the provider's (a bug here) is rethrown as it is, for the engine to log.
 */
function toModelError(error: unknown): ModelError {
  if (error instanceof ModelError) return error;
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    if (status === undefined) return new ModelError(`upstream request failed: ${rootCause(error)}`);
    // An `event: error` as the first event is thrown by the provider with a made-up status (529 or 500).
    const body = anthropicError(error.data) ?? anthropicError(parseJson(error.responseBody));
    return body ? fromAnthropic(body, status) : httpError(status, error.responseBody ?? '');
  }
  if (!(error instanceof Error)) {
    const body = anthropicError(error); // an `event: error` mid-stream
    if (body) return fromAnthropic(body);
  }
  if (AISDKError.isInstance(error)) {
    // The provider could not express the prompt, or could not parse an event.
    const prompt = error.name === 'AI_InvalidPromptError' || error.name === 'AI_UnsupportedFunctionalityError';
    return prompt ? new ModelError(error.message, 'invalid_prompt') : new ModelError(`malformed upstream event: ${excerpt(error.message)}`);
  }
  if (error instanceof Error) throw error; // ours: the engine logs it
  return new ModelError(`upstream error: ${excerpt(String(error))}`);
}

function fromAnthropic(body: AnthropicErrorBody, status?: number): ModelError {
  const rateLimited = status === 429 || body.type === 'rate_limit_error';
  return new ModelError(`${body.type}: ${body.message}`, rateLimited ? 'rate_limit_exceeded' : 'server_error', status);
}

function rootCause(error: Error): string {
  let cause: unknown = error;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return (cause as Error).message;
}
