// The EventWriter is the only place an event is born. It keeps the Response snapshot in step
// with what it emits, stamps sequence numbers and indices, and serialises each event exactly
// once into the SSE frame that every follower and the log share.
import { applyEvent, type AccumulatorState } from './accumulate.js';
import { DeltaFrames } from './delta-frames.js';
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
  UnnumberedEvent,
} from './types.js';
import type { LoggedEvent } from '../streams/types.js';

export type EventSink = (event: LoggedEvent) => void;

export interface WriterOptions {
  /**
   * Send `response.output_text.annotation.queued` (Parley's one event outside the official set)
   * for annotations still being resolved. Fixed when the response is created, so every follower
   * of its log sees the same numbered events; without it only `annotation.added` is sent.
   */
  annotationQueued?: boolean;
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
  private relayed: RelayedItems | null = null;

  constructor(
    readonly response: ResponseObject,
    private readonly sink: EventSink,
    readonly options: WriterOptions = {},
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

  /** @internal The hot path: the next delta of a part, framed by its DeltaFrames. */
  emitDelta(frames: DeltaFrames, delta: string): void {
    if (this.ended) throw new Error(`event ${frames.type} after the terminal event`);
    const seq = this.seq++;
    this.sink({ seq, type: frames.type, frame: frames.frame(seq, delta) });
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

  // Relayed events ---------------------------------------------------------------------------

  /**
   * Relays an item-level event from an upstream that speaks Responses itself. The event is
   * applied to the snapshot first (`applyEvent`: its indices and ids must agree with it, or this
   * throws before anything is sent), then gets Parley's sequence number and is emitted. The
   * lifecycle events are Parley's own and cannot be relayed.
   */
  relay(event: ResponseStreamEvent): void {
    if (this.ended) throw new Error(`event ${event.type} after the terminal event`);
    if (!this.relayed) this.relayed = this.track(new RelayedItems(this));
    this.relayed.apply(event);
    event.sequence_number = this.next();
    this.emit(event);
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

  /** The item of a built-in tool (file_search_call, web_search_call, …), announced as given. */
  openToolItem<T extends ToolItem>(item: T): ToolItemWriter<T> {
    return this.track(new ToolItemWriter(this, item));
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
  private readonly frames: DeltaFrames;
  private open = true;

  constructor(
    private readonly w: EventWriter,
    private readonly message: MessageWriter,
  ) {
    this.contentIndex = message.addPart(this.part);
    this.frames = new DeltaFrames({
      type: 'response.output_text.delta',
      item_id: message.item.id,
      output_index: message.outputIndex,
      content_index: this.contentIndex,
      logprobs: true,
    });
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.part.text += delta;
    this.w.emitDelta(this.frames, delta);
  }

  get text(): string {
    return this.part.text;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** The index the next added annotation gets. */
  get annotationCount(): number {
    return this.part.annotations.length;
  }

  /**
   * An annotation whose target is still being resolved: announced as
   * `response.output_text.annotation.queued` (only when the response opted in) with the index
   * it will get, which is the next one: the citations (citations.ts) keep at most one queued
   * annotation of a part unsettled, so its index is never taken or skipped by another. The
   * snapshot has nothing of it until `annotate`.
   */
  queueAnnotation(known: { type: string; [field: string]: unknown }): void {
    if (!this.open) throw new Error('annotation queued after output_text.done');
    if (!this.w.options.annotationQueued) return;
    this.w.emit({
      type: 'response.output_text.annotation.queued',
      sequence_number: this.w.next(),
      item_id: this.message.item.id,
      output_index: this.message.outputIndex,
      content_index: this.contentIndex,
      annotation_index: this.part.annotations.length,
      annotation: known,
    });
  }

  /** Adds an annotation (a citation of text already streamed) and announces it. */
  annotate(annotation: ResponseOutputText['annotations'][number]): void {
    const annotationIndex = this.part.annotations.length;
    this.part.annotations.push(annotation);
    this.w.emit({
      type: 'response.output_text.annotation.added',
      sequence_number: this.w.next(),
      item_id: this.message.item.id,
      output_index: this.message.outputIndex,
      content_index: this.contentIndex,
      annotation_index: annotationIndex,
      annotation,
    } as ResponseStreamEvent);
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
  private readonly frames: DeltaFrames;
  private open = true;

  constructor(
    private readonly w: EventWriter,
    private readonly message: MessageWriter,
  ) {
    this.contentIndex = message.addPart(this.part);
    this.frames = new DeltaFrames({
      type: 'response.refusal.delta',
      item_id: message.item.id,
      output_index: message.outputIndex,
      content_index: this.contentIndex,
    });
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.part.refusal += delta;
    this.w.emitDelta(this.frames, delta);
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
  private text: { part: ReasoningText; frames: DeltaFrames } | null = null;
  private summaryPart: SummaryText | null = null;
  open = true;

  constructor(private readonly w: EventWriter) {
    this.item = { id: newId('rs'), type: 'reasoning', summary: [], content: [], status: 'in_progress' };
    this.outputIndex = w.addItem(this.item);
  }

  /** Raw reasoning text streams into one `reasoning_text` content part, opened on first use. */
  delta(delta: string): void {
    if (delta === '') return;
    const text = this.text ?? this.openText();
    text.part.text += delta;
    this.w.emitDelta(text.frames, delta);
  }

  private openText(): { part: ReasoningText; frames: DeltaFrames } {
    const part: ReasoningText = { type: 'reasoning_text', text: '' };
    this.item.content.push(part);
    const frames = new DeltaFrames({
      type: 'response.reasoning_text.delta',
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: this.item.content.length - 1,
    });
    this.text = { part, frames };
    this.w.emit({
      type: 'response.content_part.added',
      sequence_number: this.w.next(),
      item_id: this.item.id,
      output_index: this.outputIndex,
      content_index: this.item.content.length - 1,
      part,
    });
    return this.text;
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
    const part = this.text?.part;
    if (!part) return;
    this.text = null;
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

  /** `encryptedContent` is set on the item (`reasoning.encrypted_content` was included). */
  done(status: ItemStatus = 'completed', encryptedContent?: string): void {
    if (!this.open) return;
    this.closeText();
    this.endSummaryPart();
    this.open = false;
    this.item.status = status;
    if (encryptedContent !== undefined) this.item.encrypted_content = encryptedContent;
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
  private readonly frames: DeltaFrames;
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
    this.frames = new DeltaFrames({ type: 'response.function_call_arguments.delta', item_id: this.item.id, output_index: this.outputIndex });
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.item.arguments += delta;
    this.w.emitDelta(this.frames, delta);
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
  private readonly frames: DeltaFrames;
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
    this.frames = new DeltaFrames({ type: 'response.custom_tool_call_input.delta', item_id: this.item.id, output_index: this.outputIndex });
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.item.input += delta;
    this.w.emitDelta(this.frames, delta);
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

// Built-in tool items ----------------------------------------------------------------------------

type ToolItem = Extract<
  ResponseObject['output'][number],
  {
    type:
      | 'file_search_call'
      | 'web_search_call'
      | 'code_interpreter_call'
      | 'image_generation_call'
      | 'mcp_call'
      | 'mcp_list_tools'
      | 'mcp_approval_request'
      | 'tool_search_call'
      | 'tool_search_output';
  }
> & { id: string };

/** Tool item types whose status can be `incomplete` (the others end `failed` when cut short). */
const HAS_INCOMPLETE = new Set(['file_search_call', 'code_interpreter_call', 'mcp_call', 'tool_search_call', 'tool_search_output']);

/** The lifecycle events of built-in tool items: each carries only its item's id and index. */
export type ToolProgressType = Extract<
  ResponseStreamEvent['type'],
  | `response.file_search_call.${string}`
  | `response.web_search_call.${string}`
  | `response.code_interpreter_call.${string}`
  | 'response.image_generation_call.in_progress'
  | 'response.image_generation_call.generating'
  | 'response.image_generation_call.completed'
  | `response.mcp_call.${string}`
  | `response.mcp_list_tools.${string}`
>;

/**
 * A built-in tool's item. The tool fills in the item's fields (status, results, outputs …) as it
 * works; `progress` announces lifecycle steps, `done` closes the item with what it holds.
 */
export class ToolItemWriter<T extends ToolItem> implements Closable {
  readonly outputIndex: number;
  open = true;
  /** An mcp_call's arguments have deltas and no done event yet. */
  private argumentsOpen = false;

  constructor(
    private readonly w: EventWriter,
    readonly item: T,
  ) {
    this.outputIndex = w.addItem(item);
  }

  progress(type: ToolProgressType): void {
    this.w.emit({ type, sequence_number: this.w.next(), output_index: this.outputIndex, item_id: this.item.id } as ResponseStreamEvent);
  }

  /** More of an mcp_call's arguments as the model writes them (`response.mcp_call_arguments.delta`). */
  mcpArgumentsDelta(this: ToolItemWriter<Extract<ToolItem, { type: 'mcp_call' }>>, delta: string): void {
    if (delta === '') return;
    this.argumentsOpen = true;
    this.item.arguments += delta;
    this.w.emit({ type: 'response.mcp_call_arguments.delta', sequence_number: this.w.next(), output_index: this.outputIndex, item_id: this.item.id, delta });
  }

  /** The mcp_call's arguments are complete (`response.mcp_call_arguments.done`). */
  mcpArgumentsDone(this: ToolItemWriter<Extract<ToolItem, { type: 'mcp_call' }>>): void {
    this.argumentsOpen = false;
    this.w.emit({
      type: 'response.mcp_call_arguments.done',
      sequence_number: this.w.next(),
      output_index: this.outputIndex,
      item_id: this.item.id,
      arguments: this.item.arguments,
    });
  }

  /** A preview of an image_generation_call's image (`partial_images`); the item keeps nothing of it. */
  partialImage(index: number, b64: string, details: { size?: string; quality?: string; background?: string; output_format?: string } = {}): void {
    this.w.emit({
      type: 'response.image_generation_call.partial_image',
      sequence_number: this.w.next(),
      output_index: this.outputIndex,
      item_id: this.item.id,
      partial_image_index: index,
      partial_image_b64: b64,
      ...details,
    } as ResponseStreamEvent);
  }

  /** More of a code_interpreter_call's `code` as the model writes it. */
  codeDelta(delta: string): void {
    if (!delta) return;
    const item = this.item as { code?: string | null };
    item.code = (item.code ?? '') + delta;
    this.w.emit({ type: 'response.code_interpreter_call_code.delta', sequence_number: this.w.next(), output_index: this.outputIndex, item_id: this.item.id, delta } as ResponseStreamEvent);
  }

  /** The code_interpreter_call's code is complete (its `code` is what the deltas made). */
  codeDone(): void {
    const code = (this.item as { code?: string | null }).code ?? '';
    this.w.emit({ type: 'response.code_interpreter_call_code.done', sequence_number: this.w.next(), output_index: this.outputIndex, item_id: this.item.id, code } as ResponseStreamEvent);
  }

  done(): void {
    if (!this.open) return;
    this.open = false;
    this.w.itemDone(this, this.outputIndex);
  }

  /**
   * The response ended while the tool worked: the item closes as it is, its status `incomplete`
   * where the item type has that status, else `failed`.
   */
  close(): void {
    if (!this.open) return;
    if (this.argumentsOpen) (this as unknown as ToolItemWriter<Extract<ToolItem, { type: 'mcp_call' }>>).mcpArgumentsDone();
    const item = this.item as { type: string; status?: string };
    if (item.status && item.status !== 'completed' && item.status !== 'failed') {
      item.status = HAS_INCOMPLETE.has(item.type) ? 'incomplete' : 'failed';
    }
    this.done();
  }
}

// Relayed items ------------------------------------------------------------------------------

const LIFECYCLE_EVENTS = new Set<string>([
  'response.created',
  'response.queued',
  'response.in_progress',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
]);

type OutputItem = ResponseObject['output'][number];

/** The status a relayed item left open takes where `incomplete` is not one of its statuses; null keeps it. */
const CLOSING_STATUS: Partial<Record<OutputItem['type'], string | null>> = {
  web_search_call: 'failed',
  image_generation_call: 'failed',
  apply_patch_call_output: 'failed',
  apply_patch_call: null,
};

/**
 * The items an upstream streams, kept in step with the snapshot by the accumulator (the
 * writer's mirror image), which checks every index and id. When the response ends while one is
 * still open, it is closed like the writer's own items: its open texts and parts get their
 * done events, then the item its output_item.done, `incomplete`.
 */
class RelayedItems implements Closable {
  readonly open = true;
  private readonly state: AccumulatorState;
  /** Output indices of the relayed items that are not done yet. */
  private readonly items = new Set<number>();

  constructor(private readonly w: EventWriter) {
    this.state = { response: w.response, closed: new Set(), ended: false };
  }

  apply(event: ResponseStreamEvent): void {
    if (LIFECYCLE_EVENTS.has(event.type)) throw new Error(`${event.type} cannot be relayed: the response lifecycle is Parley's own`);
    applyEvent(this.state, event);
    if (event.type === 'response.output_item.added') this.items.add(event.output_index);
    else if (event.type === 'response.output_item.done') this.items.delete(event.output_index);
  }

  close(status: ItemStatus): void {
    for (const index of [...this.items]) this.closeItem(index, status);
  }

  private closeItem(o: number, status: ItemStatus): void {
    const item = this.state.response.output[o];
    const at = { item_id: (item as { id: string }).id, output_index: o };
    const isClosed = (key: string) => this.state.closed.has(key);
    const send = (event: UnnumberedEvent) => this.w.relay({ ...event, sequence_number: 0 } as ResponseStreamEvent);
    const closePart = (c: number, done: UnnumberedEvent, part: Extract<UnnumberedEvent, { type: 'response.content_part.done' }>['part']) => {
      if (isClosed(`part ${o}/${c}`)) return;
      if (!isClosed(`text ${o}/${c}`)) send(done);
      send({ type: 'response.content_part.done', ...at, content_index: c, part });
    };
    switch (item.type) {
      case 'message':
        item.content.forEach((part, c) =>
          closePart(
            c,
            part.type === 'output_text'
              ? { type: 'response.output_text.done', ...at, content_index: c, text: part.text, logprobs: part.logprobs ?? [] }
              : { type: 'response.refusal.done', ...at, content_index: c, refusal: part.refusal },
            part,
          ),
        );
        break;
      case 'reasoning':
        item.content?.forEach((part, c) => closePart(c, { type: 'response.reasoning_text.done', ...at, content_index: c, text: part.text }, part));
        item.summary.forEach((part, s) => {
          if (isClosed(`summary ${o}/${s}`)) return;
          if (!isClosed(`summary_text ${o}/${s}`)) send({ type: 'response.reasoning_summary_text.done', ...at, summary_index: s, text: part.text });
          send({ type: 'response.reasoning_summary_part.done', ...at, summary_index: s, part: { type: 'summary_text', text: part.text } });
        });
        break;
      case 'function_call':
        // The official schema requires `name` here; the SDK's type has not caught up.
        if (!isClosed(`args ${o}`)) send({ type: 'response.function_call_arguments.done', ...at, name: item.name, arguments: item.arguments } as UnnumberedEvent);
        break;
      case 'custom_tool_call':
        if (!isClosed(`args ${o}`)) send({ type: 'response.custom_tool_call_input.done', ...at, input: item.input });
        break;
      case 'mcp_call':
        if (!isClosed(`args ${o}`)) send({ type: 'response.mcp_call_arguments.done', ...at, arguments: item.arguments });
        break;
      case 'code_interpreter_call':
        if (!isClosed(`args ${o}`)) send({ type: 'response.code_interpreter_call_code.done', ...at, code: item.code ?? '' });
        break;
    }
    const closing = 'status' in item ? (Object.hasOwn(CLOSING_STATUS, item.type) ? CLOSING_STATUS[item.type] : status) : null;
    send({ type: 'response.output_item.done', output_index: o, item: (closing ? { ...item, status: closing } : item) as OutputItem });
  }
}
