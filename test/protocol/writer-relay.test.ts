// EventWriter.relay: item events from an upstream that speaks Responses, applied to the
// snapshot (so a mismatch throws before anything is sent), re-numbered, and closed by the writer
// when the response ends while they are still open.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as SdkResponse } from 'openai/resources/responses/responses';
import { newResponseObject } from '../../src/protocol/response.js';
import type { OfficialStreamEvent, ResponseObject, ResponseStreamEvent } from '../../src/protocol/types.js';
import { EventWriter } from '../../src/protocol/writer.js';
import type { LoggedEvent } from '../../src/streams/types.js';
import { assertConformingStream } from '../helpers/spec.js';

type Json = Record<string, any>;

function start(): { w: EventWriter; events: () => ResponseStreamEvent[] } {
  const frames: LoggedEvent[] = [];
  const w = new EventWriter(newResponseObject(), (event) => frames.push(event));
  w.created();
  w.inProgress();
  const events = () => frames.map((f) => JSON.parse(/\ndata: (.+)\n\n$/s.exec(f.frame)![1]) as ResponseStreamEvent);
  return { w, events };
}

/** An upstream event with the upstream's own sequence number. */
const up = (event: Json, seq = 900): ResponseStreamEvent => ({ ...event, sequence_number: seq }) as ResponseStreamEvent;

const message = (id: string) => ({ id, type: 'message', status: 'in_progress', content: [], role: 'assistant' });

function sdkOutput(events: ResponseStreamEvent[]): SdkResponse['output'] {
  let snapshot: SdkResponse | undefined;
  for (const event of events.slice(0, -1)) snapshot = accumulateResponse(event as OfficialStreamEvent, snapshot);
  return snapshot!.output;
}

describe('EventWriter.relay', () => {
  it('re-numbers the events, keeps the upstream ids and builds the snapshot', () => {
    const { w, events } = start();
    w.relay(up({ type: 'response.output_item.added', output_index: 0, item: message('msg_up1') }, 2));
    w.relay(up({ type: 'response.content_part.added', item_id: 'msg_up1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } }, 3));
    w.relay(up({ type: 'response.output_text.delta', item_id: 'msg_up1', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [], obfuscation: 'zz' }, 40));
    assert.equal((w.response.output[0] as Json).content[0].text, 'Hi');
    const part = { type: 'output_text', text: 'Hi', annotations: [], logprobs: [] };
    w.relay(up({ type: 'response.output_text.done', item_id: 'msg_up1', output_index: 0, content_index: 0, text: 'Hi', logprobs: [] }));
    w.relay(up({ type: 'response.content_part.done', item_id: 'msg_up1', output_index: 0, content_index: 0, part }));
    w.relay(up({ type: 'response.output_item.done', output_index: 0, item: { ...message('msg_up1'), status: 'completed', content: [part] } }));
    w.setUsage({ input_tokens: 1, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 2 });
    w.completed();

    const all = events();
    assert.deepEqual(all.map((e) => e.sequence_number), all.map((_, i) => i));
    assert.equal((all[4] as Json).obfuscation, 'zz', 'fields are relayed as they are');
    assertConformingStream(all);
    assert.equal(w.response.output[0].id, 'msg_up1');
    assert.equal((w.response.output[0] as Json).status, 'completed');
  });

  it('throws on an index or id that does not agree with the snapshot, and sends nothing', () => {
    const { w, events } = start();
    assert.throws(() => w.relay(up({ type: 'response.output_item.added', output_index: 1, item: message('msg_up1') })), /expected output index 0, got 1/);
    w.relay(up({ type: 'response.output_item.added', output_index: 0, item: message('msg_up1') }));
    assert.throws(
      () => w.relay(up({ type: 'response.content_part.added', item_id: 'msg_other', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } })),
      /item_id mismatch/,
    );
    assert.throws(() => w.relay(up({ type: 'response.output_text.delta', item_id: 'msg_up1', output_index: 0, content_index: 0, delta: 'x', logprobs: [] })), /missing content/);
    assert.equal(w.nextSequenceNumber, 3, 'no sequence number was used by the refused events');
    assert.equal(events().length, 3);
  });

  it('refuses lifecycle events: they are Parley’s own', () => {
    const { w } = start();
    for (const type of ['response.created', 'response.in_progress', 'response.completed', 'response.failed']) {
      assert.throws(() => w.relay(up({ type, response: w.response })), /cannot be relayed/);
    }
    assert.throws(() => w.relay(up({ type: 'error', code: 'x', message: 'y', param: null })), /cannot be relayed/);
  });

  it('closes the relayed items still open when the response fails: texts, parts, arguments, then the items', () => {
    const { w, events } = start();
    let o = 0;
    const at = (id: string) => ({ item_id: id, output_index: o });
    // A message with an open text part.
    w.relay(up({ type: 'response.output_item.added', output_index: o, item: message('msg_a') }));
    w.relay(up({ type: 'response.content_part.added', ...at('msg_a'), content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } }));
    w.relay(up({ type: 'response.output_text.delta', ...at('msg_a'), content_index: 0, delta: 'Half', logprobs: [] }));
    // A reasoning item with an open summary part.
    o++;
    w.relay(up({ type: 'response.output_item.added', output_index: o, item: { id: 'rs_a', type: 'reasoning', summary: [] } }));
    w.relay(up({ type: 'response.reasoning_summary_part.added', ...at('rs_a'), summary_index: 0, part: { type: 'summary_text', text: '' } }));
    w.relay(up({ type: 'response.reasoning_summary_text.delta', ...at('rs_a'), summary_index: 0, delta: 'Thinking' }));
    // A function call with its arguments half written.
    o++;
    w.relay(up({ type: 'response.output_item.added', output_index: o, item: { id: 'fc_a', type: 'function_call', status: 'in_progress', call_id: 'call_a', name: 'f', arguments: '' } }));
    w.relay(up({ type: 'response.function_call_arguments.delta', ...at('fc_a'), delta: '{"a":' }));
    // A web search under way: `incomplete` is not one of its statuses.
    o++;
    w.relay(up({ type: 'response.output_item.added', output_index: o, item: { id: 'ws_a', type: 'web_search_call', status: 'in_progress', action: { type: 'search', query: 'q' } } }));
    w.relay(up({ type: 'response.web_search_call.searching', ...at('ws_a') }));
    w.failed('server_error', 'The upstream went away');

    const all = events();
    assertConformingStream(all);
    const output = (all.at(-1) as Json).response.output as Json[];
    assert.deepEqual(output.map((item) => item.status ?? null), ['incomplete', null, 'incomplete', 'failed']);
    assert.equal(output[0].content[0].text, 'Half');
    assert.deepEqual(output[1].summary, [{ type: 'summary_text', text: 'Thinking' }]);
    assert.equal(output[2].arguments, '{"a":');
    assert.deepEqual(sdkOutput(all), output);
    assert.equal((w.response as ResponseObject).status, 'failed');
  });

  it('throws on a delta after its done', () => {
    const { w } = start();
    w.relay(up({ type: 'response.output_item.added', output_index: 0, item: { id: 'fc_a', type: 'function_call', status: 'in_progress', call_id: 'c', name: 'f', arguments: '' } }));
    w.relay(up({ type: 'response.function_call_arguments.done', item_id: 'fc_a', output_index: 0, name: 'f', arguments: '' }));
    assert.throws(() => w.relay(up({ type: 'response.function_call_arguments.delta', item_id: 'fc_a', output_index: 0, delta: 'x' })), /delta after done/);
  });
});
