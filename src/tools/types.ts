// Server-side tools: built-in tools Parley runs itself (file_search, web_search, …). The model
// is offered functions on a tool's behalf; when it calls one, the tool opens its own item,
// runs after the model step, emits its own lifecycle events through the EventWriter, and hands
// back the text the model reads in its next step.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { ResponseInputItem, StoredItem } from '../protocol/types.js';
import type { EventWriter } from '../protocol/writer.js';
import type { Store } from '../store/types.js';
import type { CitationResolver } from './citations.js';
import type { FunctionToolDecl } from './client-tools.js';

/** What tools may use: configuration, storage, logging. Tool families add their own services. */
export interface ToolServices {
  config: Config;
  store: Store;
  logger: Logger;
}

export interface ServerToolContext {
  writer: EventWriter;
  signal: AbortSignal;
  /** The request's `include` list (e.g. `file_search_call.results`). */
  include: readonly string[];
  /** What the request's tools can cite: answer text is scanned for these markers (citations.ts). */
  citations?: readonly CitationResolver[];
  /** The server log (a citation that could not be completed is logged with why). */
  logger?: Logger;
}

/** What a built-in tool may read of its request. */
export interface ToolRequestContext {
  /** The whole context as the client gave it: earlier turns (previous_response_id, conversation), then this input. */
  input: readonly StoredItem[] | readonly ResponseInputItem[];
}

/** One call the model makes to a server tool: begun when the model starts it, run after the step. */
export interface ServerToolCall {
  /** More of the model's arguments (JSON text) as they stream: for tools that show them live. */
  delta(argumentsDelta: string): void;
  /** The model has written all of its arguments. */
  end(): void;
  /**
   * Runs the call and emits the tool's events. Resolves with what the model reads; a failure of
   * the tool itself (a search back-end down, bad arguments) is such output, not a rejection.
   */
  run(): Promise<string>;
}

/** A built-in tool as declared in one request. */
export interface ServerTool {
  /** Functions offered to the model on this tool's behalf. */
  readonly functions: FunctionToolDecl[];
  /** The model started calling one of them. */
  begin(name: string, callId: string, ctx: ServerToolContext): ServerToolCall;
  /** The citation markers of this tool's results that answer text may carry. */
  readonly citations?: CitationResolver;
  /**
   * Runs once before the first model step (mcp: lists the server's tools, runs the calls the
   * client approved); `functions` may grow. Resolves with input items the model reads after the
   * context (the results of those calls).
   */
  prepare?(ctx: ServerToolContext): Promise<ResponseInputItem[]>;
}

/** A family of built-in tools (one folder under src/tools/). */
export interface ServerToolKind {
  /** The request tool types it serves, e.g. ['web_search', 'web_search_preview']. */
  readonly toolTypes: readonly string[];
  /** The output item types its calls produce, e.g. ['web_search_call']. */
  readonly itemTypes: readonly string[];
  /**
   * Why it cannot run here (naming the setting that enables it), or null when it can; given the
   * declaration, why that one cannot (cache-only web_search with no cache).
   */
  unavailable(services: ToolServices, declaration?: Record<string, unknown>): string | null;
  /**
   * Checks a declaration it can serve before the response is created (its shape, the resources it
   * names): throws the API error the request gets (file_search: 404 for an unknown vector store).
   */
  check?(declaration: Record<string, unknown>, param: string, services: ToolServices): void;
  create(declaration: Record<string, unknown>, services: ToolServices, context?: ToolRequestContext): ServerTool;
  /** How one of its stored items reads to a model in a later turn (a call and its output). */
  toModelInput(item: StoredItem): ResponseInputItem[];
}

/** A call whose tool needs the complete arguments only: they are gathered, then handed to `run`. */
export function whenArgumentsComplete(run: (args: string) => Promise<string>): ServerToolCall {
  let args = '';
  return {
    delta: (delta) => void (args += delta),
    end: () => undefined,
    run: () => run(args),
  };
}
