// The EventWriter is the only place an event is born. It keeps the Response snapshot in step
// with what it emits, stamps sequence numbers and indices, and serialises each event exactly
// once into the SSE frame that every follower and the log share.
import { newId } from './ids.js';
import { sseFrame } from './sse.js';
import type {
  ResponseCustomToolCall,
  ResponseFunctionToolCall,
  ResponseObject,
  ResponseOutputMessage,
  ResponseOutputRefusal,
  ResponseOutputText,
  ResponseReasoningItem,
  ResponseStreamEvent,
  ResponseUsage,
} from './types.js';
import type { LoggedEvent } from '../streams/types.js';

export type EventSink = (event: LoggedEvent) => void;

type DeltaEvent = Extract<
  ResponseStreamEvent,
  {
    type:
      | 'response.output_text.delta'
      | 'response.refusal.delta'
      | 'response.reasoning_text.delta'
      | 'response.function_call_arguments.delta'
      | 'response.custom_tool_call_input.delta';
  }
>;

/**
 * JSON.stringify(event) for a delta event, field for field. Only `delta` needs escaping: the
 * item id is one Parley made, and the other fields are numbers or fixed strings.
 */
export function deltaJson(event: DeltaEvent): string {
  const content = 'content_index' in event ? `,"content_index":${event.content_index}` : '';
  const logprobs = 'logprobs' in event ? `,"logprobs":${event.logprobs.length ? JSON.stringify(event.logprobs) : '[]'}` : '';
  return `{"type":"${event.type}","sequence_number":${event.sequence_number},"item_id":"${event.item_id}","output_index":${event.output_index}${content},"delta":${JSON.stringify(event.delta)}${logprobs}}`;
}
type ItemStatus = 'in_progress' | 'completed' | 'incomplete';
export type FailureCode = NonNullable<ResponseObject['error']>['code'];

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Closes an item, or whichever of its parts is still open, when the response ends early. */
interface Closable {
  readonly open: boolean;
  close(status: ItemStatus): void;
}

export class EventWriter {
  private seq = 0;
  private readonly openItems = new Set<Closable>();
  private ended = false;

  constructor(
    readonly response: ResponseObject,
    private readonly sink: EventSink,
  ) {}

  get nextSequenceNumber(): number {
    return this.seq;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** @internal Serialises one event, once, and hands it on. */
  emit(event: ResponseStreamEvent, json = JSON.stringify(event)): void {
    if (this.ended) throw new Error(`event ${event.type} after the terminal event`);
    this.sink({ seq: event.sequence_number, type: event.type, frame: sseFrame(event.type, json) });
  }

  /** @internal The hot path: a delta event, serialised by hand (the same JSON, several times faster). */
  emitDelta(event: DeltaEvent): void {
    this.emit(event, deltaJson(event));
  }

  /** @internal */
  next(): number {
    return this.seq++;
  }

  // Lifecycle --------------------------------------------------------------------------------

  created(): void {
    this.emit({ type: 'response.created', sequence_number: this.next(), response: this.snapshot() });
  }

  queued(): void {
    this.response.status = 'queued';
    this.emit({ type: 'response.queued', sequence_number: this.next(), response: this.snapshot() });
  }

  inProgress(): void {
    this.response.status = 'in_progress';
    this.emit({ type: 'response.in_progress', sequence_number: this.next(), response: this.snapshot() });
  }

  setUsage(usage: ResponseUsage): void {
    this.response.usage = usage;
  }

  completed(): void {
    this.closeOpenItems('incomplete');
    this.response.status = 'completed';
    this.response.completed_at = nowSeconds();
    this.terminal({ type: 'response.completed', sequence_number: this.next(), response: this.snapshot() });
  }

  incomplete(reason: 'max_output_tokens' | 'content_filter'): void {
    this.closeOpenItems('incomplete');
    this.response.status = 'incomplete';
    this.response.incomplete_details = { reason };
    this.terminal({ type: 'response.incomplete', sequence_number: this.next(), response: this.snapshot() });
  }

  failed(code: FailureCode, message: string): void {
    this.closeOpenItems('incomplete');
    this.response.status = 'failed';
    this.response.error = { code, message };
    this.terminal({ type: 'response.failed', sequence_number: this.next(), response: this.snapshot() });
  }

  /** A cancelled response ends its stream with `response.failed` carrying status `cancelled`. */
  cancelled(): void {
    this.closeOpenItems('incomplete');
    this.response.status = 'cancelled';
    this.terminal({ type: 'response.failed', sequence_number: this.next(), response: this.snapshot() });
  }

  private terminal(event: ResponseStreamEvent): void {
    this.emit(event);
    this.ended = true;
  }

  // Items ------------------------------------------------------------------------------------

  openMessage(): MessageWriter {
    return this.track(new MessageWriter(this));
  }

  openReasoning(): ReasoningWriter {
    return this.track(new ReasoningWriter(this));
  }

  openFunctionCall(callId: string, name: string, namespace?: string): FunctionCallWriter {
    return this.track(new FunctionCallWriter(this, callId, name, namespace));
  }

  openCustomToolCall(callId: string, name: string, namespace?: string): CustomToolCallWriter {
    return this.track(new CustomToolCallWriter(this, callId, name, namespace));
  }

  /** @internal Appends the item to the snapshot and announces it. */
  addItem<T extends ResponseObject['output'][number]>(item: T): number {
    const outputIndex = this.response.output.length;
    this.response.output.push(item);
    this.emit({ type: 'response.output_item.added', sequence_number: this.next(), output_index: outputIndex, item });
    return outputIndex;
  }

  /** @internal */
  itemDone(writer: Closable, outputIndex: number): void {
    this.openItems.delete(writer);
    const item = this.response.output[outputIndex];
    this.emit({ type: 'response.output_item.done', sequence_number: this.next(), output_index: outputIndex, item });
  }

  private track<T extends Closable>(writer: T): T {
    this.openItems.add(writer);
    return writer;
  }

  private closeOpenItems(status: ItemStatus): void {
    for (const item of this.openItems) item.close(status);
  }

  /** The snapshot as lifecycle events carry it. Serialised at once, so no copy is needed. */
  private snapshot() {
    return this.response as unknown as Extract<ResponseStreamEvent, { type: 'response.created' }>['response'];
  }
}

// Messages -----------------------------------------------------------------------------------

export class MessageWriter implements Closable {
  readonly item: ResponseOutputMessage;
  readonly outputIndex: number;
  private part: TextPartWriter | RefusalPartWriter | null = null;
  open = true;

  constructor(private readonly w: EventWriter) {
    this.item = { id: newId('msg'), type: 'message', status: 'in_progress', content: [], role: 'assistant' };
    this.outputIndex = w.addItem(this.item);
  }

  openText(): TextPartWriter {
    this.closePart('completed');
    const part = new TextPartWriter(this.w, this);
    this.part = part;
    return part;
  }

  openRefusal(): RefusalPartWriter {
    this.closePart('completed');
    const part = new RefusalPartWriter(this.w, this);
    this.part = part;
    return part;
  }

  /** @internal Adds a content part to the item and announces it; returns its content index. */
  addPart(part: ResponseOutputText | ResponseOutputRefusal): number {
    const contentIndex = this.item.content.length;
    this.item.content.push(part);
    this.w.emit({
      type: 'response.content_part.added',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: contentIndex,
      part,
    });
    return contentIndex;
  }

  /** @internal */
  partDone(contentIndex: number): void {
    this.part = null;
    this.w.emit({
      type: 'response.content_part.done',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: contentIndex,
      part: this.item.content[contentIndex],
    });
  }

  private closePart(_status: ItemStatus): void {
    if (this.part) this.part.done();
  }

  done(status: ItemStatus = 'completed'): void {
    if (!this.open) return;
    this.closePart(status);
    this.open = false;
    this.item.status = status;
    this.w.itemDone(this, this.outputIndex);
  }

  close(status: ItemStatus): void {
    this.done(status);
  }
}

export class TextPartWriter {
  private readonly part: ResponseOutputText = { type: 'output_text', text: '', annotations: [], logprobs: [] };
  readonly contentIndex: number;
  private open = true;

  constructor(
    private readonly w: EventWriter,
    private readonly message: MessageWriter,
  ) {
    this.contentIndex = message.addPart(this.part);
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.part.text += delta;
    this.w.emitDelta({
      type: 'response.output_text.delta',
      sequence_number: this.w.next(),
      item_id: this.message.item.id,
      output_index: this.message.outputIndex,
      content_index: this.contentIndex,
      delta,
      logprobs: [],
    });
  }

  get text(): string {
    return this.part.text;
  }

  done(): void {
    if (!this.open) return;
    this.open = false;
    this.w.emit({
      type: 'response.output_text.done',
      sequence_number: this.w.next(),
      item_id: this.message.item.id,
      output_index: this.message.outputIndex,
      content_index: this.contentIndex,
      text: this.part.text,
      logprobs: [],
    });
    this.message.partDone(this.contentIndex);
  }
}

export class RefusalPartWriter {
  private readonly part: ResponseOutputRefusal = { type: 'refusal', refusal: '' };
  readonly contentIndex: number;
  private open = true;

  constructor(
    private readonly w: EventWriter,
    private readonly message: MessageWriter,
  ) {
    this.contentIndex = message.addPart(this.part);
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.part.refusal += delta;
    this.w.emitDelta({
      type: 'response.refusal.delta',
      sequence_number: this.w.next(),
      item_id: this.message.item.id,
      output_index: this.message.outputIndex,
      content_index: this.contentIndex,
      delta,
    });
  }

  done(): void {
    if (!this.open) return;
    this.open = false;
    this.w.emit({
      type: 'response.refusal.done',
      sequence_number: this.w.next(),
      item_id: this.message.item.id,
      output_index: this.message.outputIndex,
      content_index: this.contentIndex,
      refusal: this.part.refusal,
    });
    this.message.partDone(this.contentIndex);
  }
}

// Reasoning ----------------------------------------------------------------------------------

type ReasoningText = NonNullable<ResponseReasoningItem['content']>[number];
type SummaryText = ResponseReasoningItem['summary'][number];

export class ReasoningWriter implements Closable {
  readonly item: ResponseReasoningItem & { content: ReasoningText[] };
  readonly outputIndex: number;
  private textPart: ReasoningText | null = null;
  private summaryPart: SummaryText | null = null;
  open = true;

  constructor(private readonly w: EventWriter) {
    this.item = { id: newId('rs'), type: 'reasoning', summary: [], content: [], status: 'in_progress' };
    this.outputIndex = w.addItem(this.item);
  }

  /** Raw reasoning text streams into one `reasoning_text` content part, opened on first use. */
  delta(delta: string): void {
    if (delta === '') return;
    const part = this.textPart ?? this.openText();
    part.text += delta;
    this.w.emitDelta({
      type: 'response.reasoning_text.delta',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: this.item.content.length - 1,
      delta,
    });
  }

  private openText(): ReasoningText {
    const part: ReasoningText = { type: 'reasoning_text', text: '' };
    this.item.content.push(part);
    this.textPart = part;
    this.w.emit({
      type: 'response.content_part.added',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: this.item.content.length - 1,
      part,
    });
    return part;
  }

  /**
   * Summary text streams into `summary_text` parts after the raw text; `endSummaryPart` closes
   * one, and the next delta opens another.
   */
  summaryDelta(delta: string): void {
    if (delta === '') return;
    const part = this.summaryPart ?? this.openSummaryPart();
    part.text += delta;
    this.w.emit({
      type: 'response.reasoning_summary_text.delta',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      summary_index: this.item.summary.length - 1,
      delta,
    });
  }

  endSummaryPart(): void {
    const part = this.summaryPart;
    if (!part) return;
    this.summaryPart = null;
    const summaryIndex = this.item.summary.length - 1;
    this.w.emit({
      type: 'response.reasoning_summary_text.done',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      summary_index: summaryIndex,
      text: part.text,
    });
    this.w.emit({
      type: 'response.reasoning_summary_part.done',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      summary_index: summaryIndex,
      part: { type: 'summary_text', text: part.text },
    });
  }

  private openSummaryPart(): SummaryText {
    this.closeText();
    const part: SummaryText = { type: 'summary_text', text: '' };
    this.item.summary.push(part);
    this.summaryPart = part;
    this.w.emit({
      type: 'response.reasoning_summary_part.added',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      summary_index: this.item.summary.length - 1,
      part: { type: 'summary_text', text: '' },
    });
    return part;
  }

  private closeText(): void {
    const part = this.textPart;
    if (!part) return;
    this.textPart = null;
    const contentIndex = this.item.content.length - 1;
    this.w.emit({
      type: 'response.reasoning_text.done',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: contentIndex,
      text: part.text,
    });
    this.w.emit({
      type: 'response.content_part.done',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: contentIndex,
      part,
    });
  }

  done(status: ItemStatus = 'completed'): void {
    if (!this.open) return;
    this.closeText();
    this.endSummaryPart();
    this.open = false;
    this.item.status = status;
    this.w.itemDone(this, this.outputIndex);
  }

  close(status: ItemStatus): void {
    this.done(status);
  }
}

// Function calls -----------------------------------------------------------------------------

export class FunctionCallWriter implements Closable {
  readonly item: ResponseFunctionToolCall & { id: string };
  readonly outputIndex: number;
  open = true;

  constructor(
    private readonly w: EventWriter,
    callId: string,
    name: string,
    namespace?: string,
  ) {
    this.item = { id: newId('fc'), type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name };
    if (namespace) this.item.namespace = namespace;
    this.outputIndex = w.addItem(this.item);
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.item.arguments += delta;
    this.w.emitDelta({
      type: 'response.function_call_arguments.delta',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      delta,
    });
  }

  done(status: ItemStatus = 'completed'): void {
    if (!this.open) return;
    this.open = false;
    // The official schema requires `name` here; the SDK's type has not caught up.
    this.w.emit({
      type: 'response.function_call_arguments.done',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      name: this.item.name,
      arguments: this.item.arguments,
    } as ResponseStreamEvent);
    this.item.status = status;
    this.w.itemDone(this, this.outputIndex);
  }

  close(status: ItemStatus): void {
    this.done(status);
  }
}

// Custom tool calls ---------------------------------------------------------------------------

/** A call of a `custom` tool: free-form text input, streamed as it is written. */
export class CustomToolCallWriter implements Closable {
  readonly item: ResponseCustomToolCall & { id: string };
  readonly outputIndex: number;
  open = true;

  constructor(
    private readonly w: EventWriter,
    callId: string,
    name: string,
    namespace?: string,
  ) {
    // The official CustomToolCall item has no status field.
    this.item = { id: newId('ctc'), type: 'custom_tool_call', call_id: callId, name, input: '' };
    if (namespace) this.item.namespace = namespace;
    this.outputIndex = w.addItem(this.item);
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.item.input += delta;
    this.w.emitDelta({
      type: 'response.custom_tool_call_input.delta',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      delta,
    });
  }

  done(): void {
    if (!this.open) return;
    this.open = false;
    this.w.emit({
      type: 'response.custom_tool_call_input.done',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      input: this.item.input,
    });
    this.w.itemDone(this, this.outputIndex);
  }

  close(): void {
    this.done();
  }
}
