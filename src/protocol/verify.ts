// Every problem with a finished event stream at once: the official schema per event, the
// stream rules of `checkStream`, and accumulate(events) == the terminal response. One rule set
// for the project's tests and for `parley check` against any server.
import { isDeepStrictEqual } from 'node:util';
import { accumulate } from './accumulate.js';
import { checkStream, type CheckOptions } from './conformance.js';
import { validateEvent } from './schema.js';
import type { ResponseObject, ResponseStreamEvent } from './types.js';

export function verifyStream(events: ResponseStreamEvent[], opts?: CheckOptions): string[] {
  const problems: string[] = [];
  for (const event of events) {
    const error = validateEvent(event);
    if (error) problems.push(`[schema] #${event.sequence_number}: ${error}`);
  }
  problems.push(...checkStream(events, opts));
  const terminal = terminalResponse(events);
  if (terminal) {
    try {
      const rebuilt = accumulate(events);
      if (!isDeepStrictEqual(rebuilt, terminal)) problems.push('[accumulate] accumulate(events) differs from the terminal response');
    } catch (error) {
      problems.push(`[accumulate] ${(error as Error).message}`);
    }
  }
  return problems;
}

function terminalResponse(events: ResponseStreamEvent[]): ResponseObject | null {
  const last = events.at(-1);
  if (!last) return null;
  if (last.type === 'response.completed' || last.type === 'response.failed' || last.type === 'response.incomplete') {
    return last.response as unknown as ResponseObject;
  }
  return null;
}
