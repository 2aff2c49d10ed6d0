// The hand-built frames of delta events must be exactly what JSON.stringify makes, framed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeltaFrames, type DeltaPart } from '../../src/protocol/delta-frames.js';
import { sseFrame } from '../../src/protocol/sse.js';

const tricky = ['plain', ' "quoted" ', 'back\\slash', 'new\nline\ttab', 'ünïcödé ✓ 🎉', '\u2028\u2029', '\u0000\u001f', '</script>', ''];

test('DeltaFrames frames each delta as sseFrame(type, JSON.stringify(event)), for every delta event shape', () => {
  const parts: Array<{ part: DeltaPart; event: (seq: number, delta: string) => object }> = [
    {
      part: { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 2, content_index: 1, logprobs: true },
      event: (seq, delta) => ({ type: 'response.output_text.delta', sequence_number: seq, item_id: 'msg_1', output_index: 2, content_index: 1, delta, logprobs: [] }),
    },
    {
      part: { type: 'response.refusal.delta', item_id: 'msg_2', output_index: 0, content_index: 0 },
      event: (seq, delta) => ({ type: 'response.refusal.delta', sequence_number: seq, item_id: 'msg_2', output_index: 0, content_index: 0, delta }),
    },
    {
      part: { type: 'response.reasoning_text.delta', item_id: 'rs_1', output_index: 0, content_index: 3 },
      event: (seq, delta) => ({ type: 'response.reasoning_text.delta', sequence_number: seq, item_id: 'rs_1', output_index: 0, content_index: 3, delta }),
    },
    {
      part: { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 3 },
      event: (seq, delta) => ({ type: 'response.function_call_arguments.delta', sequence_number: seq, item_id: 'fc_1', output_index: 3, delta }),
    },
    {
      part: { type: 'response.custom_tool_call_input.delta', item_id: 'ctc_1', output_index: 4 },
      event: (seq, delta) => ({ type: 'response.custom_tool_call_input.delta', sequence_number: seq, item_id: 'ctc_1', output_index: 4, delta }),
    },
  ];
  for (const { part, event } of parts) {
    const frames = new DeltaFrames(part);
    assert.equal(frames.type, part.type);
    for (const [i, delta] of tricky.entries()) {
      const seq = i * 1009;
      assert.equal(frames.frame(seq, delta), sseFrame(part.type, JSON.stringify(event(seq, delta))));
    }
  }
});
