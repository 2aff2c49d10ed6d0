// The seam between the engine and every model back-end: one model step is a flat stream of
// parts keyed by id, like the AI SDK's LanguageModelV3StreamPart. Back-ends push parts into a
// sink synchronously, so one upstream chunk becomes socket bytes within the same tick.
import type { ResponseError, ResponseInputItem, ResponseStreamEvent, Tool } from '../protocol/types.js';

export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  reasoningTokens?: number;
  cachedInputTokens?: number;
}

export type ModelPart =
  | { type: 'text-start'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string }
  | { type: 'refusal-start'; id: string }
  | { type: 'refusal-delta'; id: string; delta: string }
  | { type: 'refusal-end'; id: string }
  | { type: 'reasoning-start'; id: string }
  | { type: 'reasoning-delta'; id: string; delta: string }
  /**
   * `encryptedContent`: opaque state the upstream needs back with this reasoning in a later
   * request (Anthropic's thinking signature); it becomes the item's `encrypted_content` when the
   * request includes `reasoning.encrypted_content`.
   */
  | { type: 'reasoning-end'; id: string; encryptedContent?: string }
  /** A summary of reasoning `id`, in one or more parts; sent before that reasoning's end. */
  | { type: 'reasoning-summary-delta'; id: string; delta: string }
  | { type: 'reasoning-summary-part-end'; id: string }
  | { type: 'tool-call-start'; id: string; callId: string; name: string }
  | { type: 'tool-call-delta'; id: string; delta: string }
  | { type: 'tool-call-end'; id: string }
  /**
   * An item-level event from a back-end that speaks Responses itself (an OpenAI upstream),
   * relayed as it is: the writer re-stamps its sequence number and applies it to the snapshot.
   */
  | { type: 'event'; event: ResponseStreamEvent }
  | { type: 'finish'; reason: FinishReason; usage?: Usage };

export type PartSink = (part: ModelPart) => void;

/** The official ResponseErrorCode values. */
export type ModelErrorCode = ResponseError['code'];

/** A failure of the model step; the engine turns it into `response.failed`. */
export class ModelError extends Error {
  constructor(
    message: string,
    /** One of the official ResponseErrorCode values. */
    readonly code: ModelErrorCode = 'server_error',
    readonly status?: number,
  ) {
    super(message);
  }
}

export type TextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean | null; description?: string };

/** What one model step sees: the normalized request with the whole context resolved. */
export interface ModelRequest {
  /** The model id as the upstream knows it. */
  model: string;
  instructions: string | null;
  /** Full context: previous turns, then this request's input; no item_reference left. */
  input: ResponseInputItem[];
  tools: Tool[];
  toolChoice: unknown;
  parallelToolCalls: boolean;
  textFormat: TextFormat;
  temperature: number | null;
  topP: number | null;
  maxOutputTokens: number | null;
  reasoning: { effort?: string | null; summary?: string | null } | null;
  user?: string | null;
  /** Forwarded to upstreams that cache prompts by key. */
  promptCacheKey?: string | null;
  metadata: Record<string, string> | null;
  /** The request as the client declared it; read only by back-ends that speak Responses. */
  declared?: DeclaredRequest;
  signal: AbortSignal;
}

/**
 * What a Responses upstream is sent as it is, where `ModelRequest` holds what other back-ends
 * get: every declared tool (built-ins included), the context untranslated (custom and
 * namespace calls as they are), `include`, and options only Responses has.
 */
export interface DeclaredRequest {
  input: ResponseInputItem[];
  tools: Tool[];
  include: string[] | null;
  verbosity?: string | null;
  maxToolCalls?: number | null;
  topLogprobs?: number | null;
  truncation?: string | null;
}

export interface ModelInfo {
  id: string;
  owned_by: string;
}

export interface ModelBackend {
  /** The upstream runs the official built-in tools itself (web_search, file_search, mcp, …). */
  hostsBuiltInTools?: true;
  /** Models this back-end serves, as listed by GET /v1/models. */
  listModels(): Promise<ModelInfo[]>;
  /** Runs one model step, pushing parts into `sink`; resolves after `finish`, rejects with ModelError. */
  stream(request: ModelRequest, sink: PartSink): Promise<void>;
}
