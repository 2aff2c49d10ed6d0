// The accumulator is the EventWriter's mirror image: it rebuilds a Response from its events.
// For the events of a finished response, accumulate(events) must deep-equal the response the
// terminal event carries; the output is rebuilt from the deltas alone, never copied from a
// lifecycle snapshot, so that equality tests the writer. Modelled on the official SDK's
// `accumulateResponse`: one switch, exhaustive, and validators that throw precise messages.
import type { ResponseObject, ResponseStreamEvent } from './types.js';

type OutputItem = ResponseObject['output'][number];
type ItemType = OutputItem['type'];
type ItemOf<T extends ItemType> = Extract<OutputItem, { type: T }>;
type EventOf<T extends ResponseStreamEvent['type']> = Extract<ResponseStreamEvent, { type: T }>;
type MessagePart = ItemOf<'message'>['content'][number];
type ReasoningPart = NonNullable<ItemOf<'reasoning'>['content']>[number];

export interface AccumulatorState {
  response: ResponseObject;
  /** What a done event has closed (`item 3`, `part 3/0`, `text 3/0`, …): nothing may touch it again. */
  closed: Set<string>;
  /** A terminal event was applied. */
  ended: boolean;
}

/** Rebuilds the response. For a finished stream: the terminal response, with our own output. */
export function accumulate(events: Iterable<ResponseStreamEvent>): ResponseObject {
  let state: AccumulatorState | null = null;
  for (const event of events) state = applyEvent(state, event);
  if (!state) throw new Error('no events to accumulate');
  return state.response;
}

/** The output rebuilt from the item events only; no lifecycle snapshot's output is used. */
export function accumulateOutput(events: Iterable<ResponseStreamEvent>): ResponseObject['output'] {
  return accumulate(events).output;
}

/** Applies one event. Mutates and returns `state` (a new one for the first event). */
export function applyEvent(state: AccumulatorState | null, event: ResponseStreamEvent): AccumulatorState {
  if (!state) return start(event);
  if (state.ended) throw new Error(`${event.type} after the terminal event`);
  applyToState(state, event);
  return state;
}

function start(event: ResponseStreamEvent): AccumulatorState {
  if (event.type === 'error') throw streamError(event);
  if (event.type !== 'response.created') throw new Error(`first event must be response.created, got ${event.type}`);
  return { response: copy(event.response) as ResponseObject, closed: new Set(), ended: false };
}

function streamError(event: EventOf<'error'>): Error {
  return new Error(`error event: ${event.code ?? 'no code'}: ${event.message}`);
}

function applyToState(state: AccumulatorState, event: ResponseStreamEvent): void {
  switch (event.type) {
    case 'error':
      throw streamError(event);
    case 'response.created':
      throw new Error('response.created after the first event');
    case 'response.queued':
    case 'response.in_progress':
      return replaceSnapshot(state, event.response);
    case 'response.completed':
    case 'response.failed':
    case 'response.incomplete':
      replaceSnapshot(state, event.response);
      state.ended = true;
      return;

    case 'response.output_item.added':
      return addItem(state, event);
    case 'response.output_item.done':
      return finishItem(state, event);

    case 'response.content_part.added':
      return addContentPart(state, event);
    case 'response.content_part.done':
      return finishContentPart(state, event);

    case 'response.output_text.delta': {
      const part = textPart(state, event, 'output_text');
      expectTextOpen(state, event);
      part.text += event.delta;
      // Logprobs stream with the deltas; they are only ever appended.
      if (event.logprobs.length > 0) part.logprobs = [...(part.logprobs ?? []), ...copy(event.logprobs)] as typeof part.logprobs;
      return;
    }
    case 'response.output_text.done':
      return finishText(state, event, textPart(state, event, 'output_text').text, event.text);
    case 'response.output_text.annotation.added': {
      const part = textPart(state, event, 'output_text');
      expectIndex(event, 'annotation', part.annotations.length, event.annotation_index);
      part.annotations.push(copy(event.annotation) as (typeof part.annotations)[number]);
      return;
    }
    case 'response.output_text.annotation.queued':
      // Parley's opt-in event: an annotation still being resolved. The snapshot has nothing of it
      // until its annotation.added (a dropped one never appears); only the part must exist.
      textPart(state, event, 'output_text');
      expectTextOpen(state, event);
      return;
    case 'response.refusal.delta':
      expectTextOpen(state, event);
      textPart(state, event, 'refusal').refusal += event.delta;
      return;
    case 'response.refusal.done':
      return finishText(state, event, textPart(state, event, 'refusal').refusal, event.refusal);

    case 'response.reasoning_text.delta':
      expectTextOpen(state, event);
      reasoningPart(state, event).text += event.delta;
      return;
    case 'response.reasoning_text.done':
      return finishText(state, event, reasoningPart(state, event).text, event.text);
    case 'response.reasoning_summary_part.added': {
      const item = itemFor(state, event, 'reasoning');
      expectIndex(event, 'summary', item.summary.length, event.summary_index);
      item.summary.push(copy(event.part));
      return;
    }
    case 'response.reasoning_summary_text.delta':
      summaryPart(state, event).text += event.delta;
      return;
    case 'response.reasoning_summary_text.done': {
      const part = summaryPart(state, event);
      expectSame(part.text, event.text, event);
      close(state, `summary_text ${event.output_index}/${event.summary_index}`, event);
      return;
    }
    case 'response.reasoning_summary_part.done': {
      const item = itemFor(state, event, 'reasoning');
      const part = summaryPart(state, event);
      expectSame(part.text, event.part.text, event);
      item.summary[event.summary_index] = copy(event.part);
      close(state, `summary ${event.output_index}/${event.summary_index}`, event);
      return;
    }

    case 'response.function_call_arguments.delta':
      openArguments(state, event, 'function_call').arguments += event.delta;
      return;
    case 'response.function_call_arguments.done':
      return finishArguments(state, event, openArguments(state, event, 'function_call').arguments, event.arguments);
    case 'response.custom_tool_call_input.delta':
      openArguments(state, event, 'custom_tool_call').input += event.delta;
      return;
    case 'response.custom_tool_call_input.done':
      return finishArguments(state, event, openArguments(state, event, 'custom_tool_call').input, event.input);
    case 'response.mcp_call_arguments.delta':
      openArguments(state, event, 'mcp_call').arguments += event.delta;
      return;
    case 'response.mcp_call_arguments.done':
      return finishArguments(state, event, openArguments(state, event, 'mcp_call').arguments, event.arguments);
    case 'response.code_interpreter_call_code.delta': {
      const item = openArguments(state, event, 'code_interpreter_call');
      item.code = (item.code ?? '') + event.delta;
      return;
    }
    case 'response.code_interpreter_call_code.done':
      return finishArguments(state, event, openArguments(state, event, 'code_interpreter_call').code ?? '', event.code);

    case 'response.file_search_call.in_progress':
    case 'response.file_search_call.searching':
    case 'response.file_search_call.completed':
    case 'response.web_search_call.in_progress':
    case 'response.web_search_call.searching':
    case 'response.web_search_call.completed':
    case 'response.code_interpreter_call.in_progress':
    case 'response.code_interpreter_call.interpreting':
    case 'response.code_interpreter_call.completed':
    case 'response.image_generation_call.in_progress':
    case 'response.image_generation_call.generating':
    case 'response.image_generation_call.completed':
    case 'response.mcp_call.in_progress':
    case 'response.mcp_call.completed':
    case 'response.mcp_call.failed':
    case 'response.mcp_list_tools.in_progress':
    case 'response.mcp_list_tools.completed':
    case 'response.mcp_list_tools.failed':
    case 'response.compaction.compacting':
      return setToolStatus(state, event);
    case 'response.image_generation_call.partial_image':
      // The partial image is a preview: the item keeps nothing of it.
      itemFor(state, event, 'image_generation_call');
      return;

    case 'response.shell_call_command.added':
    case 'response.shell_call_command.delta':
    case 'response.shell_call_command.done':
      return applyShellCommand(state, event);
    case 'response.shell_call_output_content.delta':
      // The entry's outcome (exit code or timeout) is only known at done, which carries all of it.
      itemFor(state, event, 'shell_call_output');
      return;
    case 'response.shell_call_output_content.done': {
      const item = itemFor(state, event, 'shell_call_output');
      const entry = event.output[0];
      if (!entry) throw new Error(`shell_call_output_content.done without output at output ${event.output_index}`);
      if (event.command_index > item.output.length) throw new Error(`missing shell output at index ${event.command_index - 1}`);
      item.output[event.command_index] = copy(entry);
      return;
    }

    case 'response.audio.delta':
    case 'response.audio.done':
    case 'response.audio.transcript.delta':
    case 'response.audio.transcript.done':
      // Audio events name no output item, and the Response object has no audio field.
      return;

    default:
      return assertNever(event);
  }
}

function assertNever(event: never): never {
  throw new Error(`unhandled event type ${(event as { type?: unknown }).type}`);
}

// Lifecycle ------------------------------------------------------------------------------------

function replaceSnapshot(state: AccumulatorState, response: EventOf<'response.created'>['response']): void {
  const output = state.response.output;
  state.response = copy(response) as ResponseObject;
  state.response.output = output;
}

// Items ----------------------------------------------------------------------------------------

interface ItemEvent {
  type: string;
  output_index: number;
  item_id?: string;
}

function addItem(state: AccumulatorState, event: EventOf<'response.output_item.added'>): void {
  const output = state.response.output;
  expectIndex(event, 'output', output.length, event.output_index);
  const id = itemId(event.item);
  if (id !== undefined && output.some((item) => itemId(item) === id)) throw new Error(`duplicate item id ${id} at output ${event.output_index}`);
  output.push(copy(event.item));
}

function finishItem(state: AccumulatorState, event: EventOf<'response.output_item.done'>): void {
  const current = itemFor(state, { ...event, item_id: itemId(event.item) }, event.item.type);
  const streamed = streamedText(current);
  const final = streamedText(event.item);
  for (const key of new Set([...Object.keys(streamed), ...Object.keys(final)])) {
    if (streamed[key] !== final[key]) {
      throw new Error(`output_item.done at output ${event.output_index} differs from the streamed ${key}`);
    }
  }
  state.response.output[event.output_index] = copy(event.item);
  close(state, `item ${event.output_index}`, event);
}

/** Looks up the item an event refers to and checks that it is the item the event names. */
function itemFor<T extends ItemType>(state: AccumulatorState, event: ItemEvent, type: T): ItemOf<T> {
  const item = state.response.output[event.output_index];
  if (!item) throw new Error(`missing output at index ${event.output_index}`);
  if (state.closed.has(`item ${event.output_index}`)) throw new Error(`${event.type} after output_item.done at output ${event.output_index}`);
  if (event.item_id !== undefined && event.item_id !== itemId(item)) {
    throw new Error(`item_id mismatch at output ${event.output_index}: ${event.item_id} is not ${itemId(item)}`);
  }
  if (item.type !== type) throw new Error(`${event.type} expects a ${type} at output ${event.output_index}, found ${item.type}`);
  return item as ItemOf<T>;
}

function itemId(item: OutputItem): string | undefined {
  return (item as { id?: string }).id;
}

/** The text that events stream into an item, by field: what output_item.done must agree with. */
function streamedText(item: OutputItem): Record<string, string> {
  const text: Record<string, string> = {};
  switch (item.type) {
    case 'message':
      item.content.forEach((part, i) => (text[`content[${i}]`] = part.type === 'output_text' ? part.text : part.refusal));
      break;
    case 'reasoning':
      item.content?.forEach((part, i) => (text[`content[${i}]`] = part.text));
      item.summary.forEach((part, i) => (text[`summary[${i}]`] = part.text));
      break;
    case 'function_call':
    case 'mcp_call':
      text.arguments = item.arguments;
      break;
    case 'custom_tool_call':
      text.input = item.input;
      break;
    case 'code_interpreter_call':
      text.code = item.code ?? '';
      break;
    case 'shell_call':
      item.action.commands.forEach((command, i) => (text[`commands[${i}]`] = command));
      break;
  }
  return text;
}

// Content parts --------------------------------------------------------------------------------

interface PartEvent extends ItemEvent {
  content_index: number;
}

function addContentPart(state: AccumulatorState, event: EventOf<'response.content_part.added'>): void {
  if (event.part.type === 'reasoning_text') {
    const item = itemFor(state, event, 'reasoning');
    item.content ??= [];
    expectIndex(event, 'content', item.content.length, event.content_index);
    item.content.push(copy(event.part));
  } else {
    const item = itemFor(state, event, 'message');
    expectIndex(event, 'content', item.content.length, event.content_index);
    item.content.push(copy(event.part));
  }
}

function finishContentPart(state: AccumulatorState, event: EventOf<'response.content_part.done'>): void {
  const part = event.part;
  if (part.type === 'reasoning_text') {
    expectSame(reasoningPart(state, event).text, part.text, event);
    itemFor(state, event, 'reasoning').content![event.content_index] = copy(part);
  } else {
    const current = textPart(state, event, part.type);
    expectSame(current.type === 'output_text' ? current.text : current.refusal, part.type === 'output_text' ? part.text : part.refusal, event);
    itemFor(state, event, 'message').content[event.content_index] = copy(part);
  }
  close(state, `part ${event.output_index}/${event.content_index}`, event);
}

function textPart<T extends MessagePart['type']>(state: AccumulatorState, event: PartEvent, type: T): Extract<MessagePart, { type: T }> {
  const item = itemFor(state, event, 'message');
  return openPart(state, event, item.content, type) as Extract<MessagePart, { type: T }>;
}

function reasoningPart(state: AccumulatorState, event: PartEvent): ReasoningPart {
  const item = itemFor(state, event, 'reasoning');
  return openPart(state, event, item.content ?? [], 'reasoning_text');
}

function openPart<P extends { type: string }>(state: AccumulatorState, event: PartEvent, parts: P[], type: string): P {
  const part = parts[event.content_index];
  if (!part) throw new Error(`missing content at index ${event.content_index} of output ${event.output_index}`);
  if (part.type !== type) throw new Error(`${event.type} expects ${type} content, found ${part.type}`);
  const key = `${event.output_index}/${event.content_index}`;
  if (state.closed.has(`part ${key}`)) throw new Error(`${event.type} after content_part.done at ${key}`);
  return part;
}

function expectTextOpen(state: AccumulatorState, event: PartEvent): void {
  const key = `${event.output_index}/${event.content_index}`;
  if (state.closed.has(`text ${key}`)) throw new Error(`${event.type}: delta after done at ${key}`);
}

function finishText(state: AccumulatorState, event: PartEvent, streamed: string, final: string): void {
  expectSame(streamed, final, event);
  close(state, `text ${event.output_index}/${event.content_index}`, event);
}

function summaryPart(state: AccumulatorState, event: ItemEvent & { summary_index: number }): ItemOf<'reasoning'>['summary'][number] {
  const part = itemFor(state, event, 'reasoning').summary[event.summary_index];
  if (!part) throw new Error(`missing summary at index ${event.summary_index} of output ${event.output_index}`);
  const key = `${event.output_index}/${event.summary_index}`;
  if (state.closed.has(`summary ${key}`)) throw new Error(`${event.type} after reasoning_summary_part.done at ${key}`);
  if (state.closed.has(`summary_text ${key}`) && event.type === 'response.reasoning_summary_text.delta') {
    throw new Error(`${event.type}: delta after done at summary ${key}`);
  }
  return part;
}

// Tool calls -----------------------------------------------------------------------------------

/** The item whose arguments (or input, or code) stream, if its stream is still open. */
function openArguments<T extends ItemType>(state: AccumulatorState, event: ItemEvent, type: T): ItemOf<T> {
  const item = itemFor(state, event, type);
  if (state.closed.has(`args ${event.output_index}`)) throw new Error(`${event.type}: delta after done at output ${event.output_index}`);
  return item;
}

function finishArguments(state: AccumulatorState, event: ItemEvent, streamed: string, final: string): void {
  expectSame(streamed, final, event);
  close(state, `args ${event.output_index}`, event);
}

type ToolStatusEvent = EventOf<
  | `response.${'file_search_call' | 'web_search_call'}.${'in_progress' | 'searching' | 'completed'}`
  | `response.code_interpreter_call.${'in_progress' | 'interpreting' | 'completed'}`
  | `response.image_generation_call.${'in_progress' | 'generating' | 'completed'}`
  | `response.mcp_call.${'in_progress' | 'completed' | 'failed'}`
  | `response.mcp_list_tools.${'in_progress' | 'completed' | 'failed'}`
  | 'response.compaction.compacting'
>;

/** Item type and the status it takes; null where the official item has no status field. */
const TOOL_STATUS: Record<ToolStatusEvent['type'], [ItemType, string | null]> = {
  'response.file_search_call.in_progress': ['file_search_call', 'in_progress'],
  'response.file_search_call.searching': ['file_search_call', 'searching'],
  'response.file_search_call.completed': ['file_search_call', 'completed'],
  'response.web_search_call.in_progress': ['web_search_call', 'in_progress'],
  'response.web_search_call.searching': ['web_search_call', 'searching'],
  'response.web_search_call.completed': ['web_search_call', 'completed'],
  'response.code_interpreter_call.in_progress': ['code_interpreter_call', 'in_progress'],
  'response.code_interpreter_call.interpreting': ['code_interpreter_call', 'interpreting'],
  'response.code_interpreter_call.completed': ['code_interpreter_call', 'completed'],
  'response.image_generation_call.in_progress': ['image_generation_call', 'in_progress'],
  'response.image_generation_call.generating': ['image_generation_call', 'generating'],
  'response.image_generation_call.completed': ['image_generation_call', 'completed'],
  'response.mcp_call.in_progress': ['mcp_call', 'in_progress'],
  'response.mcp_call.completed': ['mcp_call', 'completed'],
  'response.mcp_call.failed': ['mcp_call', 'failed'],
  'response.mcp_list_tools.in_progress': ['mcp_list_tools', null],
  'response.mcp_list_tools.completed': ['mcp_list_tools', null],
  'response.mcp_list_tools.failed': ['mcp_list_tools', null],
  'response.compaction.compacting': ['compaction', null],
};

function setToolStatus(state: AccumulatorState, event: ToolStatusEvent): void {
  const [type, status] = TOOL_STATUS[event.type];
  const item = itemFor(state, event, type);
  if (status !== null) (item as { status?: string }).status = status;
}

function applyShellCommand(state: AccumulatorState, event: EventOf<`response.shell_call_command.${'added' | 'delta' | 'done'}`>): void {
  const commands = itemFor(state, event, 'shell_call').action.commands;
  const i = event.command_index;
  if (event.type === 'response.shell_call_command.added') {
    expectIndex(event, 'command', commands.length, i);
    commands.push(event.command);
    return;
  }
  if (commands[i] === undefined) throw new Error(`missing command at index ${i} of output ${event.output_index}`);
  if (event.type === 'response.shell_call_command.delta') commands[i] += event.delta;
  else commands[i] = event.command;
}

// Validators -----------------------------------------------------------------------------------

/** An added thing must take the next index. */
function expectIndex(event: ItemEvent, what: string, length: number, index: number): void {
  if (index !== length) throw new Error(`${event.type} at output ${event.output_index}: expected ${what} index ${length}, got ${index}`);
}

function expectSame(streamed: string, final: string, event: ItemEvent): void {
  if (streamed !== final) {
    throw new Error(`${event.type} at output ${event.output_index}: done text ${JSON.stringify(final)} differs from the deltas ${JSON.stringify(streamed)}`);
  }
}

function close(state: AccumulatorState, key: string, event: ItemEvent): void {
  if (state.closed.has(key)) throw new Error(`${event.type}: ${key} is already done`);
  state.closed.add(key);
}

function copy<T>(value: T): T {
  return structuredClone(value);
}
