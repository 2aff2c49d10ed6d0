// Background mode: a queued response, followed with `retrieve(id, {stream: true})` and resumed
// with `starting_after`; and a background response cancelled mid-run.
//
// `metadata.scenario` is a hint for Parley's scripted model (`slow`: paced words, `stall`: runs
// until cancelled) so that it behaves like a real model that takes time; other servers store the
// metadata and ignore it.
import { isDeepStrictEqual } from 'node:util';
import type { ResponseObject } from '../protocol/types.js';
import { expect, fail, type CheckContext, type Scenario } from './types.js';
import { expectStatus, expectText, finalResponse, readEvents, readResponse, verifyEvents, type WireEvent } from './wire.js';

export const backgroundResume: Scenario = {
  name: 'background resume',
  async run({ client, model }) {
    const request = client.responses.create({
      model,
      input: 'Count from 1 to 12, separated by spaces.',
      background: true,
      metadata: { scenario: 'slow 10 12' },
    });
    const accepted = await readResponse(await request.asResponse());
    expect(accepted.background === true, `[background] response.background is ${JSON.stringify(accepted.background)}, expected true`);
    const full = await readEvents(await client.responses.retrieve(accepted.id, { stream: true }).asResponse());
    verifyEvents(full, { background: true });
    const response = finalResponse(full);
    expectStatus(response, 'completed');
    expectText(response);

    const after = full[Math.floor(full.length / 2)].sequence_number;
    const resumed = await readEvents(await client.responses.retrieve(accepted.id, { stream: true, starting_after: after }).asResponse());
    const tail = full.filter((event) => event.sequence_number > after);
    expect(resumed.length === tail.length, `[resume] starting_after ${after}: ${resumed.length} events, expected ${tail.length}`);
    const differing = resumed.findIndex((event, i) => !isDeepStrictEqual(event, tail[i]));
    if (differing !== -1) fail(`[resume] starting_after ${after}: event ${describe(resumed[differing])} differs from ${describe(tail[differing])} of the full stream`);
    return `${full.length} events; ${resumed.length} resumed after seq ${after}`;
  },
};

export const cancel: Scenario = {
  name: 'cancel',
  async run({ client, model }) {
    const request = client.responses.create({
      model,
      input: 'Write a long story about a lighthouse keeper, at least 2000 words.',
      background: true,
      metadata: { scenario: 'stall' },
    });
    const accepted = await readResponse(await request.asResponse());
    let response = await readResponse(await client.responses.cancel(accepted.id).asResponse());
    // A server may answer the cancel before the run has stopped: wait a little for a final status.
    const deadline = Date.now() + 10_000;
    while ((response.status === 'queued' || response.status === 'in_progress') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      response = await retrieve(client, accepted.id);
    }
    expectStatus(response, 'cancelled');
    expectStatus(await retrieve(client, accepted.id), 'cancelled');
    return 'cancel and retrieve: status cancelled';
  },
};

async function retrieve(client: CheckContext['client'], id: string): Promise<ResponseObject> {
  return readResponse(await client.responses.retrieve(id).asResponse());
}

function describe(event: WireEvent | undefined): string {
  return event ? `seq ${event.sequence_number} (${event.type})` : 'none';
}
