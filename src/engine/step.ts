// Maps one model step's parts onto the EventWriter (DESIGN.md, "Model step → events").
import type { FinishReason, ModelPart, PartSink, Usage } from '../models/types.js';
import { citing, type CitingText } from '../tools/citations.js';
import { CUSTOM_INPUT_FIELD, type ClientTools } from '../tools/client-tools.js';
import { JsonStringFieldStream } from '../tools/json-string-field.js';
import { ClientToolSearchCall } from '../tools/tool-search/items.js';
import { CheckedCustomCall } from './checked-custom-call.js';
import type { ServerToolCall, ServerToolContext } from '../tools/types.js';
import type {
  CustomToolCallWriter,
  EventWriter,
  FunctionCallWriter,
  MessageWriter,
  ReasoningWriter,
  RefusalPartWriter,
  TextPartWriter,
} from '../protocol/writer.js';

export interface StepResult {
  finish: FinishReason | null;
  usage: Usage | null;
  /** Characters of output, to estimate usage when the back-end reports none. */
  outputChars: number;
  /** Calls of built-in tools, to run once the step has ended. */
  serverCalls: PendingServerCall[];
  /** Calls of grammar-constrained custom tools whose input does not match: the turn retries or writes them. */
  invalidCalls: CheckedCustomCall[];
}

/**
 * A sink that turns parts into events; `result` fills in as the step runs. A text part whose
 * annotations are still being resolved ends (output_text.done) only once they are settled: the
 * parts that follow meanwhile are held and replayed in order; `settled` resolves when none are held.
 */
export function stepSink(
  writer: EventWriter,
  tools: ClientTools,
  context: ServerToolContext,
): { sink: PartSink; result: StepResult; settled: () => Promise<void> } {
  const result: StepResult = { finish: null, usage: null, outputChars: 0, serverCalls: [], invalidCalls: [] };
  const parts = new Map<
    string,
    | TextPartWriter
    | CitingText
    | RefusalPartWriter
    | ReasoningWriter
    | FunctionCallWriter
    | CustomInputDecoder
    | CheckedCustomCall
    | PendingServerCall
    | ClientToolSearchCall
  >();
  let message: MessageWriter | null = null;
  const encryptedReasoning = context.include.includes('reasoning.encrypted_content');

  const reasoning = (id: string) => {
    const writer = parts.get(id);
    return writer && 'summaryDelta' in writer ? writer : undefined;
  };
  const openMessage = () => (message?.open ? message : (message = writer.openMessage()));
  const closeMessage = () => {
    message?.done();
    message = null;
  };

  const onDrop = (known: { type: string }, reason: string) =>
    context.logger?.info({ response: writer.response.id, annotation: known, reason }, 'citation dropped: its annotation could not be completed');
  let held: ModelPart[] | null = null;
  let holding: Promise<void> = Promise.resolve();
  const hold = (until: Promise<void>) => {
    held = [];
    holding = until.then(() => {
      const replay = held ?? [];
      held = null;
      for (const part of replay) sink(part);
    });
  };

  const sink = (part: ModelPart): void => {
    if (held) {
      held.push(part);
      return;
    }
    switch (part.type) {
      case 'text-start':
        parts.set(part.id, citing(openMessage().openText(), context.citations, { onDrop }));
        return;
      case 'refusal-start':
        parts.set(part.id, openMessage().openRefusal());
        return;
      case 'reasoning-start':
        closeMessage();
        parts.set(part.id, writer.openReasoning());
        return;
      case 'tool-call-start': {
        closeMessage();
        const tool = tools.fromModel(part.name);
        if (tool.kind === 'server') {
          const call = new PendingServerCall(tool.name, part.callId, tool.tool.begin(tool.name, part.callId, context));
          result.serverCalls.push(call);
          parts.set(part.id, call);
        } else if (tool.kind === 'tool_search') {
          parts.set(part.id, new ClientToolSearchCall(writer, part.callId));
        } else if (tool.kind === 'custom') {
          const open = () => writer.openCustomToolCall(part.callId, tool.name, tool.namespace);
          // A grammar-constrained input is held until it is known to match; a free-form one streams.
          parts.set(part.id, tool.grammar ? new CheckedCustomCall(open, tool.grammar, part.callId, part.name, result.invalidCalls) : new CustomInputDecoder(open()));
        } else {
          parts.set(part.id, writer.openFunctionCall(part.callId, tool.name, tool.namespace));
        }
        return;
      }
      case 'text-delta':
      case 'refusal-delta':
      case 'reasoning-delta':
      case 'tool-call-delta':
        result.outputChars += part.delta.length;
        parts.get(part.id)?.delta(part.delta);
        return;
      case 'reasoning-summary-delta':
        result.outputChars += part.delta.length;
        reasoning(part.id)?.summaryDelta(part.delta);
        return;
      case 'reasoning-summary-part-end':
        reasoning(part.id)?.endSummaryPart();
        return;
      case 'reasoning-end':
        reasoning(part.id)?.done('completed', encryptedReasoning ? part.encryptedContent : undefined);
        parts.delete(part.id);
        return;
      case 'text-end':
      case 'refusal-end':
      case 'tool-call-end': {
        const ending = parts.get(part.id)?.done();
        parts.delete(part.id);
        if (ending) hold(ending);
        return;
      }
      case 'event':
        // An upstream that speaks Responses: its item events are relayed as they are.
        writer.relay(part.event);
        return;
      case 'finish':
        closeMessage();
        result.finish = part.reason;
        result.usage = part.usage ?? null;
        return;
      default:
        assertNever(part);
    }
  };
  const settled = async () => {
    while (held) {
      if (context.signal.aborted) return;
      await holding;
    }
  };
  return { sink, result, settled };
}

/** A built-in tool call as the model writes it: the arguments are kept for the model's history. */
export class PendingServerCall {
  arguments = '';

  constructor(
    readonly name: string,
    readonly callId: string,
    readonly call: ServerToolCall,
  ) {}

  delta(argumentsDelta: string): void {
    this.arguments += argumentsDelta;
    this.call.delta(argumentsDelta);
  }

  done(): void {
    this.call.end();
  }
}

/** The model writes `{"input": "..."}`; the client sees the decoded input stream as it comes. */
class CustomInputDecoder {
  private readonly field = new JsonStringFieldStream(CUSTOM_INPUT_FIELD);

  constructor(private readonly call: CustomToolCallWriter) {}

  delta(argumentsDelta: string): void {
    this.call.delta(this.field.push(argumentsDelta));
  }

  done(): void {
    this.call.delta(this.field.finish());
    this.call.done();
  }
}

function assertNever(part: never): never {
  throw new Error(`unhandled model part ${JSON.stringify(part)}`);
}
