// Maps one model step's parts onto the EventWriter (DESIGN.md, "Model step → events").
import type { FinishReason, ModelPart, PartSink, Usage } from '../models/types.js';
import { CUSTOM_INPUT_FIELD, type ClientTools } from '../tools/client-tools.js';
import { JsonStringFieldStream } from '../tools/json-string-field.js';
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
}

/** A sink that turns parts into events; `result` fills in as the step runs. */
export function stepSink(writer: EventWriter, tools: ClientTools): { sink: PartSink; result: StepResult } {
  const result: StepResult = { finish: null, usage: null, outputChars: 0 };
  const parts = new Map<string, TextPartWriter | RefusalPartWriter | ReasoningWriter | FunctionCallWriter | CustomInputDecoder>();
  let message: MessageWriter | null = null;

  const reasoning = (id: string) => {
    const writer = parts.get(id);
    return writer && 'summaryDelta' in writer ? writer : undefined;
  };
  const openMessage = () => (message?.open ? message : (message = writer.openMessage()));
  const closeMessage = () => {
    message?.done();
    message = null;
  };

  const sink = (part: ModelPart): void => {
    switch (part.type) {
      case 'text-start':
        parts.set(part.id, openMessage().openText());
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
        parts.set(
          part.id,
          tool.kind === 'custom'
            ? new CustomInputDecoder(writer.openCustomToolCall(part.callId, tool.name, tool.namespace))
            : writer.openFunctionCall(part.callId, tool.name, tool.namespace),
        );
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
      case 'text-end':
      case 'refusal-end':
      case 'reasoning-end':
      case 'tool-call-end':
        parts.get(part.id)?.done();
        parts.delete(part.id);
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
  return { sink, result };
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
