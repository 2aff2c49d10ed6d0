// The stream rules of the event contract (DESIGN.md), as one checker for any server's stream:
// Parley's own tests and `parley check`. Each rule is a small function over the whole stream
// that returns its violations; a violation names its rule and the event's sequence number.
import { isDeepStrictEqual } from 'node:util';
import { accumulateOutput } from './accumulate.js';
import type { ResponseObject, ResponseStreamEvent } from './types.js';

export interface CheckOptions {
  /** Background mode: `response.queued` may follow `response.created`. */
  background?: boolean;
}

/** Every violation of the stream rules, in rule order; empty when the stream conforms. */
export function checkStream(events: ResponseStreamEvent[], opts: CheckOptions = {}): string[] {
  const loose = events as unknown as LooseEvent[];
  return RULES.flatMap((rule) => rule(loose, opts));
}

// A stream from another server may be malformed in any way, so rules read fields defensively.
interface LooseEvent {
  type?: unknown;
  sequence_number?: unknown;
  [field: string]: unknown;
}
type Rule = (events: LooseEvent[], opts: CheckOptions) => string[];

const TERMINAL_TYPES = new Set(['response.completed', 'response.incomplete', 'response.failed', 'error']);

function violation(rule: string, event: LooseEvent, index: number, message: string): string {
  const where = typeof event.sequence_number === 'number' ? `seq ${event.sequence_number}` : `event #${index}`;
  return `[${rule}] ${where} (${String(event.type)}): ${message}`;
}

// What an item-scoped event refers to ------------------------------------------------------------

interface Ref {
  output: number;
  itemId?: string;
  content?: number;
  summary?: number;
}

function refOf(event: LooseEvent): Ref | null {
  if (typeof event.output_index !== 'number') return null;
  const item = event.item as { id?: unknown } | undefined;
  const itemId = typeof event.item_id === 'string' ? event.item_id : typeof item?.id === 'string' ? item.id : undefined;
  const content = typeof event.content_index === 'number' ? event.content_index : undefined;
  const summary = typeof event.summary_index === 'number' ? event.summary_index : undefined;
  return { output: event.output_index, itemId, content, summary };
}

interface ItemInfo {
  id: string | undefined;
  type: string;
  /** Types of the content parts added so far. */
  parts: string[];
  summaries: number;
}

/** Calls `visit` for each event with the items (and their parts) announced before it. */
function walk(events: LooseEvent[], visit: (event: LooseEvent, index: number, items: ItemInfo[]) => void): void {
  const items: ItemInfo[] = [];
  events.forEach((event, index) => {
    visit(event, index, items);
    const ref = refOf(event);
    if (event.type === 'response.output_item.added') {
      const item = (event.item ?? {}) as { type?: unknown };
      items.push({ id: ref?.itemId, type: String(item.type), parts: [], summaries: 0 });
    } else if (event.type === 'response.content_part.added' && ref && items[ref.output]) {
      items[ref.output].parts.push(String((event.part as { type?: unknown } | undefined)?.type));
    } else if (event.type === 'response.reasoning_summary_part.added' && ref && items[ref.output]) {
      items[ref.output].summaries++;
    }
  });
}

function firstTerminalIndex(events: LooseEvent[]): number {
  return events.findIndex((event) => TERMINAL_TYPES.has(String(event.type)));
}

// Sequence and lifecycle -----------------------------------------------------------------------

const sequenceNumbers: Rule = (events) =>
  events.flatMap((event, i) => {
    if (typeof event.sequence_number !== 'number') return [violation('sequence', event, i, 'no sequence_number')];
    const previous = events[i - 1]?.sequence_number;
    const expected = i === 0 ? 0 : typeof previous === 'number' ? previous + 1 : null;
    if (expected !== null && event.sequence_number !== expected) {
      return [violation('sequence', event, i, `expected sequence_number ${expected}`)];
    }
    return [];
  });

const firstEvent: Rule = (events) => {
  const first = events[0];
  if (!first) return ['[first-event] the stream has no events'];
  if (first.type === 'response.created' || (first.type === 'error' && events.length === 1)) return [];
  return [violation('first-event', first, 0, 'the first event must be response.created')];
};

/** created → (queued, background only) → in_progress → items; each at most once. */
const lifecycleOrder: Rule = (events, opts) => {
  const found: string[] = [];
  const seen = new Set<string>();
  let earlyItemReported = false; // once is enough: every later item event would repeat it
  events.forEach((event, i) => {
    const type = String(event.type);
    const fail = (message: string) => found.push(violation('lifecycle', event, i, message));
    if (type === 'response.created' || type === 'response.queued' || type === 'response.in_progress') {
      if (seen.has(type)) fail(`${type} sent twice`);
      seen.add(type);
    }
    if (type === 'response.queued') {
      if (!opts.background) fail('response.queued outside background mode');
      if (seen.has('response.in_progress')) fail('response.queued after response.in_progress');
    }
    if (refOf(event) && !seen.has('response.in_progress') && !earlyItemReported) {
      earlyItemReported = true;
      fail('item event before response.in_progress');
    }
  });
  return found;
};

/** Exactly one terminal event, last; `error` only when nothing else came. */
const singleTerminal: Rule = (events) => {
  const first = firstTerminalIndex(events);
  const last = events[events.length - 1];
  if (first === -1) return last ? [violation('terminal', last, events.length - 1, 'the stream has no terminal event')] : [];
  const found = events.slice(first + 1).map((event, i) => violation('terminal', event, first + 1 + i, 'event after the terminal event'));
  if (events[first].type === 'error' && events.length > 1) {
    found.push(violation('terminal', events[first], first, 'error after the response began: use response.failed'));
  }
  return found;
};

// Items and parts ------------------------------------------------------------------------------

/** Items are announced in order, in_progress, before anything refers to them. */
const itemsAnnounced: Rule = (events) => {
  const found: string[] = [];
  walk(events, (event, i, items) => {
    const ref = refOf(event);
    if (!ref) return;
    if (event.type === 'response.output_item.added') {
      if (ref.output !== items.length) found.push(violation('item-announced', event, i, `output_index ${ref.output}, expected ${items.length}`));
      const status = (event.item as { status?: unknown } | undefined)?.status;
      if (status !== undefined && status !== 'in_progress') found.push(violation('item-announced', event, i, `item status ${String(status)}, expected in_progress`));
    } else if (!items[ref.output]) {
      found.push(violation('item-announced', event, i, `output ${ref.output} before its output_item.added`));
    }
  });
  return found;
};

const idsAgree: Rule = (events) => {
  const found: string[] = [];
  walk(events, (event, i, items) => {
    const ref = refOf(event);
    const item = ref && items[ref.output];
    if (!item || event.type === 'response.output_item.added' || ref.itemId === undefined) return;
    if (ref.itemId !== item.id) found.push(violation('ids-agree', event, i, `item_id ${ref.itemId} is not the id of output ${ref.output} (${item.id})`));
  });
  return found;
};

/** The content part type each content-indexed event needs. */
const PART_TYPE: Record<string, string> = {
  'response.output_text.delta': 'output_text',
  'response.output_text.done': 'output_text',
  'response.output_text.annotation.added': 'output_text',
  'response.output_text.annotation.queued': 'output_text',
  'response.refusal.delta': 'refusal',
  'response.refusal.done': 'refusal',
  'response.reasoning_text.delta': 'reasoning_text',
  'response.reasoning_text.done': 'reasoning_text',
};

/** Content and summary parts are added in order, before anything refers to them. */
const partsAnnounced: Rule = (events) => {
  const found: string[] = [];
  walk(events, (event, i, items) => {
    const ref = refOf(event);
    const item = ref && items[ref.output];
    if (!item) return;
    const fail = (message: string) => found.push(violation('part-announced', event, i, message));
    if (event.type === 'response.content_part.added') {
      if (ref.content !== item.parts.length) fail(`content_index ${ref.content}, expected ${item.parts.length}`);
    } else if (ref.content !== undefined) {
      const part = item.parts[ref.content];
      const needed = PART_TYPE[String(event.type)];
      if (part === undefined) fail(`content_index ${ref.content} of output ${ref.output} before its content_part.added`);
      else if (needed && part !== needed) fail(`content part ${ref.content} of output ${ref.output} is ${part}, not ${needed}`);
    }
    if (event.type === 'response.reasoning_summary_part.added') {
      if (ref.summary !== item.summaries) fail(`summary_index ${ref.summary}, expected ${item.summaries}`);
    } else if (ref.summary !== undefined && ref.summary >= item.summaries) {
      fail(`summary_index ${ref.summary} of output ${ref.output} before its reasoning_summary_part.added`);
    }
  });
  return found;
};

/** Delta families: the done event's field holds the whole text. */
const FAMILIES: Record<string, { done: string; field: string }> = {
  'response.output_text.delta': { done: 'response.output_text.done', field: 'text' },
  'response.refusal.delta': { done: 'response.refusal.done', field: 'refusal' },
  'response.reasoning_text.delta': { done: 'response.reasoning_text.done', field: 'text' },
  'response.reasoning_summary_text.delta': { done: 'response.reasoning_summary_text.done', field: 'text' },
  'response.function_call_arguments.delta': { done: 'response.function_call_arguments.done', field: 'arguments' },
  'response.custom_tool_call_input.delta': { done: 'response.custom_tool_call_input.done', field: 'input' },
  'response.mcp_call_arguments.delta': { done: 'response.mcp_call_arguments.done', field: 'arguments' },
  'response.code_interpreter_call_code.delta': { done: 'response.code_interpreter_call_code.done', field: 'code' },
};
const DONE_FIELD = new Map(Object.entries(FAMILIES).map(([delta, { done, field }]) => [done, { delta, field }]));

function streamKey(family: string, ref: Ref): string {
  return `${family} at output ${ref.output}/${ref.content ?? ref.summary ?? '-'}`;
}

/** Every delta stream ends in one done whose full text equals the concatenated deltas. */
const deltasMatchDone: Rule = (events) => {
  const found: string[] = [];
  const streams = new Map<string, { text: string; done: boolean; first: number }>();
  events.forEach((event, i) => {
    const ref = refOf(event);
    const type = String(event.type);
    if (!ref) return;
    if (FAMILIES[type]) {
      const key = streamKey(type, ref);
      const stream = streams.get(key) ?? { text: '', done: false, first: i };
      if (stream.done) found.push(violation('delta-done', event, i, `delta after its done (${key})`));
      stream.text += typeof event.delta === 'string' ? event.delta : '';
      streams.set(key, stream);
    } else if (DONE_FIELD.has(type)) {
      const { delta, field } = DONE_FIELD.get(type)!;
      const key = streamKey(delta, ref);
      const stream = streams.get(key) ?? { text: '', done: false, first: i };
      if (stream.done) found.push(violation('delta-done', event, i, `second done (${key})`));
      if (event[field] !== stream.text) {
        found.push(violation('delta-done', event, i, `${field} ${JSON.stringify(event[field])} differs from the deltas ${JSON.stringify(stream.text)}`));
      }
      streams.set(key, { ...stream, done: true });
    }
  });
  for (const [key, stream] of streams) {
    if (!stream.done) found.push(violation('delta-done', events[stream.first], stream.first, `no done event (${key})`));
  }
  return found;
};

const TEXT_DONE = new Set(['response.output_text.done', 'response.refusal.done', 'response.reasoning_text.done']);

/** A part closes after its text's done, and before its item closes. */
const partsClosed: Rule = (events) => {
  const found: string[] = [];
  const textDone = new Set<string>();
  const partDone = new Set<string>();
  walk(events, (event, i, items) => {
    const ref = refOf(event);
    if (!ref) return;
    const type = String(event.type);
    const fail = (message: string) => found.push(violation('part-done', event, i, message));
    const content = `content ${ref.output}/${ref.content}`;
    const summary = `summary ${ref.output}/${ref.summary}`;
    if (TEXT_DONE.has(type)) textDone.add(content);
    if (type === 'response.reasoning_summary_text.done') textDone.add(summary);
    if (type === 'response.content_part.done') {
      if (!textDone.has(content)) fail(`content_part.done before the part's text done (${content})`);
      partDone.add(content);
    }
    if (type === 'response.reasoning_summary_part.done') {
      if (!textDone.has(summary)) fail(`reasoning_summary_part.done before its text done (${summary})`);
      partDone.add(summary);
    }
    const item = items[ref.output];
    if (type === 'response.output_item.done' && item) {
      for (let c = 0; c < item.parts.length; c++) {
        if (!partDone.has(`content ${ref.output}/${c}`)) fail(`content part ${c} of output ${ref.output} not done`);
      }
      for (let s = 0; s < item.summaries; s++) {
        if (!partDone.has(`summary ${ref.output}/${s}`)) fail(`summary part ${s} of output ${ref.output} not done`);
      }
    }
  });
  return found;
};

/** Every announced item is closed by one output_item.done before the terminal event. */
const itemsClosed: Rule = (events) => {
  const found: string[] = [];
  const done = new Set<number>();
  const end = firstTerminalIndex(events);
  walk(events.slice(0, end === -1 ? events.length : end + 1), (event, i, items) => {
    const ref = refOf(event);
    if (event.type === 'response.output_item.done' && ref) {
      if (done.has(ref.output)) found.push(violation('item-done', event, i, `output ${ref.output} done twice`));
      done.add(ref.output);
    }
    if (i !== end) return;
    for (let o = 0; o < items.length; o++) {
      if (!done.has(o)) found.push(violation('item-done', event, i, `output ${o} has no output_item.done before the terminal event`));
    }
  });
  return found;
};

/** Nothing refers to an item or a part after its done. */
const nothingAfterDone: Rule = (events) => {
  const found: string[] = [];
  const closed = new Set<string>();
  events.forEach((event, i) => {
    const ref = refOf(event);
    if (!ref) return;
    const keys = [`output ${ref.output}`];
    if (ref.content !== undefined) keys.push(`content ${ref.output}/${ref.content}`);
    if (ref.summary !== undefined) keys.push(`summary ${ref.output}/${ref.summary}`);
    for (const key of keys) if (closed.has(key)) found.push(violation('after-done', event, i, `refers to ${key} after its done`));
    if (event.type === 'response.output_item.done') closed.add(keys[0]);
    if (event.type === 'response.content_part.done') closed.add(keys[1]);
    if (event.type === 'response.reasoning_summary_part.done') closed.add(keys[keys.length - 1]);
  });
  return found;
};

// The terminal response ------------------------------------------------------------------------

function terminalResponse(events: LooseEvent[]): { event: LooseEvent; index: number; response: ResponseObject } | null {
  const index = firstTerminalIndex(events);
  const event = events[index];
  if (!event || event.type === 'error' || typeof event.response !== 'object' || event.response === null) return null;
  return { event, index, response: event.response as ResponseObject };
}

/** The terminal response's output is what the item events built. */
const terminalOutput: Rule = (events) => {
  const terminal = terminalResponse(events);
  if (!terminal) return [];
  const fail = (message: string) => [violation('terminal-output', terminal.event, terminal.index, message)];
  let output: ResponseObject['output'];
  try {
    output = accumulateOutput(events.slice(0, terminal.index + 1) as unknown as ResponseStreamEvent[]);
  } catch (error) {
    return fail(`the events do not accumulate: ${(error as Error).message}`);
  }
  const final = terminal.response.output;
  if (!Array.isArray(final)) return fail('the terminal response has no output');
  if (final.length !== output.length) return fail(`output has ${final.length} items, the events built ${output.length}`);
  const differing = final.findIndex((item, i) => !isDeepStrictEqual(item, output[i]));
  return differing === -1 ? [] : fail(`output[${differing}] differs from the item the events built`);
};

const terminalUsage: Rule = (events) => {
  const terminal = terminalResponse(events);
  if (terminal?.event.type !== 'response.completed' || (terminal.response.usage && typeof terminal.response.usage === 'object')) return [];
  return [violation('terminal-usage', terminal.event, terminal.index, 'a completed response carries usage')];
};

const terminalStatus: Rule = (events) => {
  const terminal = terminalResponse(events);
  if (!terminal) return [];
  const { event, index, response } = terminal;
  const fail = (message: string) => [violation('terminal-status', event, index, message)];
  const status = response.status;
  switch (event.type) {
    case 'response.completed':
      return status === 'completed' ? [] : fail(`status ${status}, expected completed`);
    case 'response.incomplete':
      if (status !== 'incomplete') return fail(`status ${status}, expected incomplete`);
      return response.incomplete_details ? [] : fail('an incomplete response carries incomplete_details');
    default:
      if (status === 'cancelled') return [];
      if (status !== 'failed') return fail(`status ${status}, expected failed or cancelled`);
      return response.error ? [] : fail('a failed response carries error');
  }
};

/**
 * Two-phase annotations (Parley's opt-in `annotation.queued`; whether a client asked for it is
 * the caller's check): a queued annotation takes the part's next index (the count added so far),
 * at most one is unsettled per part, its added carries the same index, and all of it comes
 * before the part's output_text.done. A queued index queued again, or never added, was dropped.
 */
const annotationsQueued: Rule = (events) => {
  const found: string[] = [];
  const parts = new Map<string, { added: number; queued: number | null; done: boolean }>();
  events.forEach((event, i) => {
    const ref = refOf(event);
    if (!ref || ref.content === undefined) return;
    const key = `${ref.output}/${ref.content}`;
    const type = String(event.type);
    if (type !== 'response.output_text.annotation.queued' && type !== 'response.output_text.annotation.added' && type !== 'response.output_text.done') return;
    const part = parts.get(key) ?? { added: 0, queued: null, done: false };
    parts.set(key, part);
    const fail = (message: string) => found.push(violation('annotation-queued', event, i, message));
    const index = event.annotation_index;
    if (type === 'response.output_text.done') {
      part.done = true;
      part.queued = null;
      return;
    }
    if (part.done) fail(`annotation ${String(index)} of ${key} after its output_text.done`);
    if (type === 'response.output_text.annotation.queued') {
      if (index !== part.added) fail(`annotation_index ${String(index)} queued, expected the next index ${part.added}`);
      part.queued = typeof index === 'number' ? index : null;
    } else {
      if (part.queued !== null && index !== part.queued) fail(`annotation_index ${String(index)} added while ${part.queued} is queued`);
      part.queued = null;
      part.added++;
    }
  });
  return found;
};

const RULES: Rule[] = [
  sequenceNumbers,
  firstEvent,
  lifecycleOrder,
  singleTerminal,
  itemsAnnounced,
  idsAgree,
  partsAnnounced,
  deltasMatchDone,
  partsClosed,
  itemsClosed,
  nothingAfterDone,
  annotationsQueued,
  terminalOutput,
  terminalUsage,
  terminalStatus,
];
