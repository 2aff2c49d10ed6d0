import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as SdkResponse } from 'openai/resources/responses/responses';
import { accumulate, accumulateOutput } from '../../src/protocol/accumulate.js';
import { checkStream, type CheckOptions } from '../../src/protocol/conformance.js';
import type { OfficialStreamEvent, ResponseObject, ResponseStreamEvent } from '../../src/protocol/types.js';
import { newResponseObject } from '../../src/protocol/response.js';
import { EventWriter } from '../../src/protocol/writer.js';
import type { LoggedEvent } from '../../src/streams/types.js';
import { validateEvent, validateSchema } from '../helpers/spec.js';


const usage = {
  input_tokens: 12,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: 7,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 19,
};

/** Plays a scenario through a real EventWriter and parses its SSE frames back into events. */
function record(play: (w: EventWriter) => void, opts: CheckOptions = {}): ResponseStreamEvent[] {
  const frames: LoggedEvent[] = [];
  const w = new EventWriter(newResponseObject(), (event) => frames.push(event));
  w.created();
  if (opts.background) w.queued();
  w.inProgress();
  play(w);
  return frames.map(({ seq, type, frame }) => {
    const match = /^event: (.+)\ndata: (.+)\n\n$/s.exec(frame);
    assert.ok(match, `malformed frame ${JSON.stringify(frame)}`);
    const event = JSON.parse(match[2]) as ResponseStreamEvent;
    assert.equal(match[1], type);
    assert.equal(event.type, type);
    assert.equal(event.sequence_number, seq);
    return event;
  });
}

function terminal(events: ResponseStreamEvent[]): ResponseObject {
  const last = events.at(-1)!;
  assert.ok('response' in last, `last event ${last.type} carries no response`);
  return last.response as unknown as ResponseObject;
}

/** Folds the official SDK's accumulator over the events; it throws on any ordering mistake. */
function sdkAccumulate(events: ResponseStreamEvent[]): SdkResponse {
  let snapshot: SdkResponse | undefined;
  for (const event of events) snapshot = accumulateResponse(event as OfficialStreamEvent, snapshot);
  return snapshot!;
}

function assertScenario(events: ResponseStreamEvent[], opts: CheckOptions = {}): ResponseObject {
  for (const event of events) assert.equal(validateEvent(event), null, `seq ${event.sequence_number}`);
  assert.deepEqual(checkStream(events, opts), []);
  const final = terminal(events);
  assert.equal(validateSchema('Response', final), null);
  assert.deepEqual(accumulateOutput(events), final.output);
  assert.deepEqual(accumulate(events), final);
  // Before the terminal event the SDK's snapshot is built from the item events, like ours.
  const beforeEnd = sdkAccumulate(events.slice(0, -1));
  assert.deepEqual(beforeEnd.output, accumulateOutput(events));
  assert.deepEqual(sdkAccumulate(events).output, accumulateOutput(events));
  return final;
}

const types = (events: ResponseStreamEvent[]) => events.map((e) => e.type);

describe('EventWriter streams that conform', () => {
  it('text message', () => {
    const events = record((w) => {
      const message = w.openMessage();
      const text = message.openText();
      for (const piece of ['Hel', 'lo, ', 'world']) text.delta(piece);
      message.done();
      w.setUsage(usage);
      w.completed();
    });
    const final = assertScenario(events);
    assert.equal(final.status, 'completed');
    assert.deepEqual(final.output.map((item) => item.type), ['message']);
    assert.equal((final.output[0] as { content: { text: string }[] }).content[0].text, 'Hello, world');
  });

  it('text message in background mode', () => {
    const events = record((w) => {
      const message = w.openMessage();
      message.openText().delta('later');
      message.done();
      w.setUsage(usage);
      w.completed();
    }, { background: true });
    assert.deepEqual(types(events).slice(0, 3), ['response.created', 'response.queued', 'response.in_progress']);
    assertScenario(events, { background: true });
  });

  it('reasoning, then text', () => {
    const events = record((w) => {
      const reasoning = w.openReasoning();
      reasoning.delta('Let me ');
      reasoning.delta('think.');
      reasoning.done();
      const message = w.openMessage();
      message.openText().delta('42');
      message.done();
      w.setUsage(usage);
      w.completed();
    });
    const final = assertScenario(events);
    assert.deepEqual(final.output.map((item) => item.type), ['reasoning', 'message']);
    assert.ok(types(events).includes('response.reasoning_text.done'));
  });

  it('refusal', () => {
    const events = record((w) => {
      const message = w.openMessage();
      const refusal = message.openRefusal();
      refusal.delta("I can't ");
      refusal.delta('help with that.');
      message.done();
      w.setUsage(usage);
      w.completed();
    });
    const final = assertScenario(events);
    assert.deepEqual((final.output[0] as { content: unknown[] }).content, [{ type: 'refusal', refusal: "I can't help with that." }]);
  });

  it('two parallel function calls', () => {
    const events = record((w) => {
      const weather = w.openFunctionCall('call_1', 'get_weather');
      const time = w.openFunctionCall('call_2', 'get_time');
      weather.delta('{"city":');
      time.delta('{"tz":');
      weather.delta('"Paris"}');
      time.delta('"CET"}');
      weather.done();
      time.done();
      w.setUsage(usage);
      w.completed();
    });
    const final = assertScenario(events);
    assert.deepEqual(
      final.output.map((item) => (item as { arguments?: string }).arguments),
      ['{"city":"Paris"}', '{"tz":"CET"}'],
    );
  });

  it('failure in the middle of a text closes the open items', () => {
    const events = record((w) => {
      const message = w.openMessage();
      message.openText().delta('Half a sen');
      w.failed('server_error', 'the model went away');
    });
    const final = assertScenario(events);
    assert.equal(final.status, 'failed');
    assert.deepEqual(final.error, { code: 'server_error', message: 'the model went away' });
    assert.equal((final.output[0] as { status: string }).status, 'incomplete');
  });

  it('max tokens ends incomplete', () => {
    const events = record((w) => {
      const reasoning = w.openReasoning();
      reasoning.delta('hmm');
      const message = w.openMessage(); // a second open item: both must be closed
      message.openText().delta('Cut sho');
      w.setUsage(usage);
      w.incomplete('max_output_tokens');
    });
    const final = assertScenario(events);
    assert.equal(final.status, 'incomplete');
    assert.deepEqual(final.incomplete_details, { reason: 'max_output_tokens' });
  });

  it('cancelled ends with response.failed and status cancelled', () => {
    const events = record((w) => {
      const call = w.openFunctionCall('call_1', 'slow');
      call.delta('{"n":');
      w.cancelled();
    });
    const final = assertScenario(events);
    assert.equal(events.at(-1)!.type, 'response.failed');
    assert.equal(final.status, 'cancelled');
  });
});
