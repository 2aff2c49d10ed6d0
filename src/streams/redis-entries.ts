// How a response's event log is laid out in a Redis stream (one stream per response).
//
//   key        `${prefix}events:${responseId}`
//   event      id `${seq + 1}-0`, fields `t` (type) and `f` (the SSE frame, as born)
//   end marker id `${lastSeq + 1}-1`, field `end` (the retention in ms); `0-1` for an empty log
//
// Entry ids map to sequence numbers with no lookup: following `starting_after = N` is
// `XREAD … STREAMS key ${N + 1}-0`, which returns exactly the events with seq > N and then the
// end marker, which sorts right after the last event.
import type { LoggedEvent } from './types.js';

export type StreamEntry = [id: string, fields: string[]];

export const eventsKey = (prefix: string, responseId: string) => `${prefix}events:${responseId}`;

export const eventEntryId = (seq: number) => `${seq + 1}-0`;

export const endEntryId = (lastSeq: number) => `${lastSeq + 1}-1`;

/** The XREAD cursor that yields the events with seq > after (and then the end marker). */
export const cursorAfter = (after: number) => `${Math.max(after, -1) + 1}-0`;

export type ParsedEntry =
  | { kind: 'event'; event: LoggedEvent }
  | { kind: 'end'; lastSeq: number; retainMs: number };

export function parseEntry([id, fields]: StreamEntry): ParsedEntry {
  const dash = id.indexOf('-');
  const n = Number(id.slice(0, dash)) - 1;
  if (id.slice(dash + 1) !== '0') return { kind: 'end', lastSeq: n, retainMs: Number(field(fields, 'end') ?? 0) };
  return { kind: 'event', event: { seq: n, type: field(fields, 't') ?? '', frame: field(fields, 'f') ?? '' } };
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The JSON payload of an SSE frame (`event: …\ndata: {…}\n\n`). */
export function frameData(frame: string): unknown {
  const start = frame.indexOf('data: ');
  if (start < 0) return undefined;
  const end = frame.indexOf('\n', start);
  return JSON.parse(frame.slice(start + 6, end < 0 ? undefined : end));
}
