// The OpenAI-compatible Chat Completions back-end (vLLM, Ollama, llama.cpp, LM Studio, hosted
// APIs). It is the hot path of most deployments, so it reads the upstream with node:http and
// Node streams, parses SSE with eventsource-parser, JSON.parses each payload once and pushes
// parts into the sink in the same tick (see DESIGN.md, "Models").
import { newId } from '../protocol/ids.js';
import { buildChatRequest } from './chat-request.js';
import { ModelError, type FinishReason, type ModelBackend, type Usage } from './types.js';
import { errorCode, excerpt, SseStream, streamStep, Upstream, type UpstreamOptions } from './upstream-http.js';

export interface ChatCompletionsOptions extends UpstreamOptions {
  /** Served model ids; when absent, asks the upstream's `/models`. */
  models?: string[];
}

export function createChatCompletionsBackend(options: ChatCompletionsOptions): ModelBackend {
  const upstream = new Upstream(options);
  return {
    async listModels() {
      if (options.models) return options.models.map((id) => ({ id, owned_by: 'upstream' }));
      return upstream.listModels();
    },
    stream(request, sink) {
      return streamStep(ChatStream, upstream, 'chat/completions', JSON.stringify(buildChatRequest(request)), request.signal, sink);
    },
  };
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

class ChatStream extends SseStream {
  /** Open parts in the order they were opened, so they close in that order. */
  private readonly open: Array<{ id: string; end: EndType }> = [];
  private reasoningId: string | null = null;
  private reasoningCount = 0;
  private textId: string | null = null;
  private refusalId: string | null = null;
  private readonly calls: ToolCall[] = [];
  private finishReason: FinishReason | null = null;
  private usage: Usage | undefined;

  protected onEndOfStream(): void {
    if (this.finishReason === null) throw new ModelError('upstream stream ended unexpectedly');
    this.finish();
  }

  // --- parsing ---

  protected onEvent(data: string): void {
    if (this.settled) return;
    if (data === '[DONE]') return this.finish();
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      throw new ModelError(`malformed upstream event: ${excerpt(data)}`);
    }
    if (chunk.error) {
      const message = typeof chunk.error === 'string' ? chunk.error : chunk.error.message;
      const code = typeof chunk.error === 'string' ? undefined : chunk.error.code;
      throw new ModelError(message || 'upstream error', errorCode(code));
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
    this.succeed();
  }
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
