// The EventWriter's mcp items: argument deltas and their done event, and an mcp_call cut short
// while the model writes its arguments (the done event still comes, the item ends `incomplete`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResponseStreamEvent } from '../../src/protocol/types.js';
import { newResponseObject } from '../../src/protocol/response.js';
import { EventWriter } from '../../src/protocol/writer.js';
import type { LoggedEvent } from '../../src/streams/types.js';
import { assertConformingStream } from '../helpers/spec.js';

function record(play: (w: EventWriter) => void): ResponseStreamEvent[] {
  const frames: LoggedEvent[] = [];
  const w = new EventWriter(newResponseObject(), (event) => frames.push(event));
  w.created();
  w.inProgress();
  play(w);
  return frames.map(({ frame }) => JSON.parse(/^event: .+\ndata: (.+)\n\n$/s.exec(frame)![1]) as ResponseStreamEvent);
}

const usage = {
  input_tokens: 1,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: 1,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 2,
};

const mcpCall = () => ({ id: 'mcp_1', type: 'mcp_call' as const, server_label: 'calc', name: 'add', arguments: '', status: 'in_progress' as const });

describe('mcp items in the EventWriter', () => {
  it('streams the arguments of an mcp_call and completes it', () => {
    const events = record((w) => {
      const item = mcpCall();
      const call = w.openToolItem(item);
      call.progress('response.mcp_call.in_progress');
      call.mcpArgumentsDelta('{"a":');
      call.mcpArgumentsDelta('1}');
      call.mcpArgumentsDone();
      Object.assign(item, { status: 'completed', output: '1', error: null });
      call.progress('response.mcp_call.completed');
      call.done();
      w.openToolItem({ id: 'mcpr_1', type: 'mcp_approval_request', server_label: 'calc', name: 'add', arguments: '{}' }).done();
      w.setUsage(usage);
      w.completed();
    });
    assertConformingStream(events);
    const done = events.find((e) => e.type === 'response.mcp_call_arguments.done') as { arguments: string };
    assert.equal(done.arguments, '{"a":1}');
  });

  it('closes arguments cut short by a cancel: done event, then the item incomplete', () => {
    const events = record((w) => {
      const call = w.openToolItem(mcpCall());
      call.progress('response.mcp_call.in_progress');
      call.mcpArgumentsDelta('{"a":');
      w.cancelled();
    });
    assertConformingStream(events);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(-3), ['response.mcp_call_arguments.done', 'response.output_item.done', 'response.failed']);
    const last = events.at(-1) as { response: { output: Array<{ status: string }> } };
    assert.equal(last.response.output[0].status, 'incomplete');
  });
});
