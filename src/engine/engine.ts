// The turn loop. A request becomes a Run: a Response snapshot, an EventWriter appending to the
// response's log, and one model step whose parts become events. The engine never touches a
// socket; streaming, waiting, background, resume and cancel all follow the same log.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { ModelError, type DeclaredRequest, type ModelBackend, type ModelRequest, type TextFormat } from '../models/types.js';
import type { ModelRegistry } from '../models/registry.js';
import { badRequest, responseNotFound } from '../protocol/errors.js';
import { parseCreateRequest, type CreateResponseRequest } from '../protocol/request.js';
import { newResponseObject } from '../protocol/response.js';
import type { ResponseInputItem, ResponseObject, StoredItem } from '../protocol/types.js';
import { EventWriter } from '../protocol/writer.js';
import type { Store } from '../store/types.js';
import type { CancelBus, EventLog } from '../streams/types.js';
import { clientTools, type ClientTools } from '../tools/client-tools.js';
import { checkLoadedTools, checkTools } from '../tools/rules.js';
import { kindForToolType } from '../tools/server-tools.js';
import type { ServerTool, ToolRequestContext, ToolServices } from '../tools/types.js';
import { loadChain, normalizeInput } from './context.js';
import { conversationParam, Conversations, type ConversationTurn } from './conversation.js';
import { Semaphore } from './semaphore.js';
import { summarisingSink, summaryInstructions, type Summarise } from './summaries.js';
import { runTurn } from './turn.js';
import { emptyUsage, toResponseUsage } from './usage.js';

export interface EngineDeps {
  config: Config;
  store: Store;
  log: EventLog;
  models: ModelRegistry;
  logger: Logger;
  /** Several instances (REDIS_URL): cancels of responses that another instance runs. */
  cancels?: CancelBus;
}

export interface Run {
  readonly id: string;
  readonly writer: EventWriter;
  readonly background: boolean;
  readonly stream: boolean;
  readonly stored: boolean;
  /** The response as it was accepted (JSON), before any work began: what a background POST returns. */
  readonly acceptedJson: string;
  /** Stops the model step; the response ends as `cancelled`. */
  abort(): void;
  /** Settles once the terminal event is in the log and the response is stored. */
  readonly done: Promise<void>;
}

class ActiveRun implements Run {
  readonly controller = new AbortController();
  done: Promise<void> = Promise.resolve();
  acceptedJson = '';

  constructor(
    readonly id: string,
    readonly writer: EventWriter,
    readonly background: boolean,
    readonly stream: boolean,
    readonly stored: boolean,
  ) {}

  abort(): void {
    this.controller.abort();
  }
}

interface RunOptions {
  include: readonly string[];
  maxToolCalls: number | null;
}

export class Engine {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly backgroundSlots: Semaphore;
  private readonly conversations: Conversations;

  constructor(private readonly deps: EngineDeps) {
    this.backgroundSlots = new Semaphore(deps.config.backgroundConcurrency);
    this.conversations = new Conversations(deps.store);
    deps.cancels?.serve((id) => this.cancelHere(id));
  }

  /**
   * Validates a request, starts its run and returns it once `response.created` is logged.
   * `streamEvents`: extra event types the client asked for (`Parley-Stream-Events`), on top of
   * PARLEY_STREAM_EVENTS; fixed for the response's whole log.
   */
  async create(body: unknown, streamEvents: readonly string[] = []): Promise<Run> {
    const request = parseCreateRequest(body);
    const { store, models, log, config } = this.deps;
    const tools = request.tools ?? [];
    const model = request.model ?? models.defaultModel;
    const resolved = models.resolve(model);
    checkTools(tools, this.toolServices, resolved.backend.hostsBuiltInTools);
    checkLoadedTools(request.input, this.toolServices, resolved.backend.hostsBuiltInTools);
    const background = request.background ?? false;
    const stored = request.store ?? true;
    if (background && !stored) throw badRequest('Background responses must be stored: set store to true.', 'store');
    const conversationId = conversationParam(request.conversation, request.previous_response_id);

    if (request.previous_response_id) await this.runs.get(request.previous_response_id)?.done;
    const history = request.previous_response_id ? await loadChain(request.previous_response_id, store) : [];
    const input = await normalizeInput(request.input as Parameters<typeof normalizeInput>[0], store);

    const response = newResponseObject(request, model, background, stored);
    const conversation = conversationId ? await this.conversations.begin(conversationId, input, response) : null;
    log.open(response.id, background ? config.backgroundLogRetainMs : 0);
    const extra = new Set([...config.streamEvents, ...streamEvents].map((type) => type.replace(/^response\.output_text\./, '')));
    const writer = new EventWriter(response, (event) => log.append(response.id, event), { annotationQueued: extra.has('annotation.queued') });
    const run = new ActiveRun(response.id, writer, background, request.stream ?? false, stored);
    this.runs.set(run.id, run);

    writer.created();
    if (background) writer.queued();
    if (background) {
      run.acceptedJson = JSON.stringify(response);
      // Stored at once so that it can be polled; other responses are stored when they end.
      try {
        await store.createResponse(response, input);
        await log.published?.(response.id);
      } catch (error) {
        // Nothing will run: release what the run holds (the conversation, the log, the registry).
        writer.failed('server_error', 'The response could not be stored.');
        await this.finish(run, input, conversation);
        throw error;
      }
    }

    const defaults = resolved.params;
    const context = [...history, ...(conversation?.items ?? []), ...(input as unknown as ResponseInputItem[])];
    const offered = clientTools(tools, this.serverTools(tools, { input: context }), context);
    const modelRequest: ModelRequest = {
      model: resolved.upstreamModel,
      instructions: request.instructions ?? null,
      input: offered.toModelInput(context),
      tools: offered.functions as unknown as ModelRequest['tools'],
      toolChoice: request.tool_choice ?? 'auto',
      parallelToolCalls: request.parallel_tool_calls ?? true,
      textFormat: (request.text?.format ?? { type: 'text' }) as TextFormat,
      temperature: request.temperature ?? defaults.temperature ?? null,
      topP: request.top_p ?? defaults.top_p ?? null,
      maxOutputTokens: request.max_output_tokens ?? defaults.max_output_tokens ?? null,
      reasoning: withDefaultEffort(request.reasoning, defaults.reasoning_effort),
      user: request.safety_identifier ?? request.user ?? null,
      promptCacheKey: request.prompt_cache_key ?? null,
      metadata: request.metadata ?? null,
      declared: declaredRequest(request, context),
      signal: run.controller.signal,
    };
    const options: RunOptions = { include: request.include ?? [], maxToolCalls: request.max_tool_calls ?? null };
    run.done = this.execute(run, resolved.backend, modelRequest, offered, model, options).then(() => this.finish(run, input, conversation));
    return run;
  }

  private async execute(run: ActiveRun, backend: ModelBackend, request: ModelRequest, tools: ClientTools, model: string, options: RunOptions) {
    const { writer } = run;
    const detail = request.reasoning?.summary ?? (request.reasoning as { generate_summary?: string } | null)?.generate_summary;
    const summariser = detail ? this.summariser(model, detail, request.signal) : null;
    const onSummaryError = (error: unknown) => this.deps.logger.warn({ err: error, response: run.id }, 'reasoning summary failed; the item has none');
    const usage = emptyUsage();
    let release: (() => void) | null = null;
    try {
      if (run.background) release = await this.backgroundSlots.acquire(request.signal);
      writer.inProgress();
      const finish = await runTurn({
        writer,
        backend,
        request,
        tools,
        include: options.include,
        maxToolCalls: options.maxToolCalls,
        wrap: summariser ? (sink) => summarisingSink(sink, summariser, onSummaryError) : null,
        usage,
        logger: this.deps.logger,
      });
      writer.setUsage(toResponseUsage(usage));
      if (finish === 'length') writer.incomplete('max_output_tokens');
      else if (finish === 'content-filter') writer.incomplete('content_filter');
      else writer.completed();
    } catch (error) {
      writer.setUsage(toResponseUsage(usage));
      if (request.signal.aborted) writer.cancelled();
      else if (error instanceof ModelError) writer.failed(error.code, error.message);
      else {
        this.deps.logger.error({ err: error, response: run.id }, 'run failed');
        writer.failed('server_error', 'The server had an error while processing the response.');
      }
    } finally {
      release?.();
    }
  }

  private get toolServices(): ToolServices {
    const { config, store, logger } = this.deps;
    return { config, store, logger };
  }

  /** The built-in tools of a request that Parley can run here (the others were refused or are not offered). */
  private serverTools(tools: readonly { type: string }[], context: ToolRequestContext): ServerTool[] {
    const services = this.toolServices;
    return tools.flatMap((declaration) => {
      const kind = kindForToolType(declaration.type);
      return kind && !kind.unavailable(services, declaration) ? [kind.create(declaration, services, context)] : [];
    });
  }

  /** Summaries come from PARLEY_SUMMARY_MODEL, or the model that reasoned. */
  private summariser(model: string, detail: string, runSignal: AbortSignal): Summarise {
    return async (reasoning, onDelta, signal) => {
      const { backend, upstreamModel } = this.deps.models.resolve(this.deps.config.summaryModel ?? model);
      const request: ModelRequest = {
        model: upstreamModel,
        instructions: summaryInstructions(detail),
        input: [{ type: 'message', role: 'user', content: reasoning }],
        tools: [],
        toolChoice: 'none',
        parallelToolCalls: false,
        textFormat: { type: 'text' },
        temperature: null,
        topP: null,
        maxOutputTokens: 400,
        reasoning: null,
        metadata: null,
        signal: AbortSignal.any([signal, runSignal]),
      };
      await backend.stream(request, (part) => {
        if (part.type === 'text-delta') onDelta(part.delta);
      });
    };
  }

  /**
   * Ends the log, then stores and adds the turn to its conversation; the run stays findable
   * until it is stored.
   */
  private async finish(run: ActiveRun, input: StoredItem[], conversation: ConversationTurn | null) {
    this.deps.log.end(run.id);
    const { store, logger } = this.deps;
    try {
      if (run.background) await store.finishResponse(run.writer.response);
      else if (run.stored) await store.createResponse(run.writer.response, input);
    } catch (error) {
      logger.error({ err: error, response: run.id }, 'storing the response failed');
    }
    try {
      await conversation?.end(run.writer.response);
    } catch (error) {
      logger.error({ err: error, response: run.id, conversation: conversation?.id }, 'adding the turn to its conversation failed');
    } finally {
      this.runs.delete(run.id);
    }
  }

  /** A running response (this process) or a stored one. */
  async retrieve(id: string): Promise<ResponseObject> {
    const run = this.runs.get(id);
    if (run) return run.writer.response;
    const response = await this.deps.store.getResponse(id);
    if (!response) throw responseNotFound(id);
    const running = response.status === 'queued' || response.status === 'in_progress';
    return (running && (await this.deps.log.snapshot?.(id))) || response;
  }

  active(id: string): Run | undefined {
    return this.runs.get(id);
  }

  /** Cancels a background response; a finished one is returned as it is. */
  async cancel(id: string): Promise<ResponseObject> {
    const run = this.runs.get(id);
    if (!run) {
      const response = await this.retrieve(id);
      if (!response.background) throw badRequest('Only background responses can be cancelled.', null);
      // Still running, on another instance: it cancels the run and answers once it is stored.
      if (this.deps.cancels && (response.status === 'queued' || response.status === 'in_progress')) {
        return (await this.deps.cancels.request(id)) ?? (await this.retrieve(id));
      }
      return response;
    }
    if (!run.background) throw badRequest('Only background responses can be cancelled.', null);
    run.abort();
    await run.done;
    return run.writer.response;
  }

  /** A cancel request from another instance: null unless the background run is here. */
  private async cancelHere(id: string): Promise<ResponseObject | null> {
    const run = this.runs.get(id);
    if (!run?.background) return null;
    run.abort();
    await run.done;
    return run.writer.response;
  }

  async delete(id: string): Promise<void> {
    const run = this.runs.get(id);
    if (run) {
      run.abort();
      await run.done;
    } else if (this.deps.cancels) {
      // Running on another instance: stop it first, or it would store the response again when it ends.
      const stored = await this.deps.store.getResponse(id);
      if (stored?.background && (stored.status === 'queued' || stored.status === 'in_progress')) await this.deps.cancels.request(id);
    }
    if (!(await this.deps.store.deleteResponse(id))) throw responseNotFound(id);
  }

  /** Ends every run (shutdown): each response gets its terminal event and is stored. */
  async close(): Promise<void> {
    const pending = [...this.runs.values()].map((run) => (run.abort(), run.done));
    await Promise.allSettled(pending);
  }
}

/** The request as declared, for a back-end that speaks Responses itself. */
function declaredRequest(request: CreateResponseRequest, context: ResponseInputItem[]): DeclaredRequest {
  return {
    input: context,
    tools: (request.tools ?? []) as unknown as DeclaredRequest['tools'],
    include: request.include ?? null,
    verbosity: request.text?.verbosity ?? null,
    maxToolCalls: request.max_tool_calls ?? null,
    topLogprobs: request.top_logprobs ?? null,
    truncation: request.truncation ?? null,
  };
}

function withDefaultEffort(reasoning: ModelRequest['reasoning'] | undefined, effort: string | undefined): ModelRequest['reasoning'] {
  if (!effort || reasoning?.effort) return reasoning ?? null;
  return { ...reasoning, effort };
}
