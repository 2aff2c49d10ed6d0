// The hand-built JSON of delta events must be exactly what JSON.stringify makes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaJson } from '../../src/protocol/writer.js';

const tricky = ['plain', ' "quoted" ', 'back\\slash', 'new\nline\ttab', 'ünïcödé ✓ 🎉', '\u2028\u2029', '\u0000\u001f', '</script>', ''];

test('deltaJson(event) === JSON.stringify(event) for every delta event shape', () => {
  for (const delta of tricky) {
    const events = [
      { type: 'response.output_text.delta', sequence_number: 7, item_id: 'msg_1', output_index: 2, content_index: 1, delta, logprobs: [] },
      { type: 'response.output_text.delta', sequence_number: 8, item_id: 'msg_1', output_index: 2, content_index: 1, delta, logprobs: [{ token: 'a', logprob: -0.5, bytes: [97], top_logprobs: [] }] },
      { type: 'response.refusal.delta', sequence_number: 9, item_id: 'msg_2', output_index: 0, content_index: 0, delta },
      { type: 'response.reasoning_text.delta', sequence_number: 10, item_id: 'rs_1', output_index: 0, content_index: 0, delta },
      { type: 'response.function_call_arguments.delta', sequence_number: 11, item_id: 'fc_1', output_index: 3, delta },
      { type: 'response.custom_tool_call_input.delta', sequence_number: 12, item_id: 'ctc_1', output_index: 4, delta },
    ] as const;
    for (const event of events) assert.equal(deltaJson(event as never), JSON.stringify(event));
  }
});
