// Schema and stream checks for the tests: the same rule set `parley check` uses (src/protocol).
import { AssertionError } from 'node:assert';
import type { CheckOptions } from '../../src/protocol/conformance.js';
import type { ResponseStreamEvent } from '../../src/protocol/types.js';
import { verifyStream } from '../../src/protocol/verify.js';

export { validateEvent, validateSchema } from '../../src/protocol/schema.js';

/** Throws an AssertionError listing every schema, ordering and accumulator problem of a stream. */
export function assertConformingStream(events: ResponseStreamEvent[], opts?: CheckOptions): void {
  const problems = verifyStream(events, opts);
  if (problems.length > 0) {
    throw new AssertionError({ message: `stream does not conform:\n  ${problems.join('\n  ')}` });
  }
}
