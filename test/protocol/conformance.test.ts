import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as SdkResponse } from 'openai/resources/responses/responses';
import { accumulate } from '../../src/protocol/accumulate.js';
import { checkStream } from '../../src/protocol/conformance.js';
import type { OfficialStreamEvent, ResponseStreamEvent } from '../../src/protocol/types.js';
import { assertConformingStream, validateEvent, validateSchema } from '../helpers/spec.js';
import { newResponseObject } from '../../src/protocol/response.js';

type Loose = Record<string, any>;

const response = (fields: Loose = {}): Loose => ({ ...newResponseObject(), id: 'resp_1', ...fields });

const usage = {
  input_tokens: 3,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: 5,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 8,
};

const textPart = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });
const message = (status: string, content: Loose[]) => ({ id: 'msg_1', type: 'message', role: 'assistant', status, content });
const reasoning = (status: string, summary: Loose[]) => ({ id: 'rs_1', type: 'reasoning', status, summary });
const call = (status: string, args: string) => ({ id: 'fc_1', type: 'function_call', status, call_id: 'call_1', name: 'f', arguments: args });

const msg = { item_id: 'msg_1', output_index: 0 };
const rs = { item_id: 'rs_1', output_index: 1 };
const fc = { item_id: 'fc_1', output_index: 2 };

/** A conforming stream: a message, a reasoning summary and a function call. */
function base(): Loose[] {
  const events: Loose[] = [
    { type: 'response.created', response: response() },
    { type: 'response.in_progress', response: response() },
    { type: 'response.output_item.added', output_index: 0, item: message('in_progress', []) },
    { type: 'response.content_part.added', ...msg, content_index: 0, part: textPart('') },
    { type: 'response.output_text.delta', ...msg, content_index: 0, delta: 'Hi', logprobs: [] },
    { type: 'response.output_text.delta', ...msg, content_index: 0, delta: ' there', logprobs: [] },
    { type: 'response.output_text.done', ...msg, content_index: 0, text: 'Hi there', logprobs: [] },
    { type: 'response.content_part.done', ...msg, content_index: 0, part: textPart('Hi there') },
    { type: 'response.output_item.done', output_index: 0, item: message('completed', [textPart('Hi there')]) },
    { type: 'response.output_item.added', output_index: 1, item: reasoning('in_progress', []) },
    { type: 'response.reasoning_summary_part.added', ...rs, summary_index: 0, part: { type: 'summary_text', text: '' } },
    { type: 'response.reasoning_summary_text.delta', ...rs, summary_index: 0, delta: 'Short' },
    { type: 'response.reasoning_summary_text.done', ...rs, summary_index: 0, text: 'Short' },
    { type: 'response.reasoning_summary_part.done', ...rs, summary_index: 0, part: { type: 'summary_text', text: 'Short' } },
    { type: 'response.output_item.done', output_index: 1, item: reasoning('completed', [{ type: 'summary_text', text: 'Short' }]) },
    { type: 'response.output_item.added', output_index: 2, item: call('in_progress', '') },
    { type: 'response.function_call_arguments.delta', ...fc, delta: '{"a":' },
    { type: 'response.function_call_arguments.delta', ...fc, delta: '1}' },
    { type: 'response.function_call_arguments.done', ...fc, name: 'f', arguments: '{"a":1}' },
    { type: 'response.output_item.done', output_index: 2, item: call('completed', '{"a":1}') },
    {
      type: 'response.completed',
      response: response({
        status: 'completed',
        completed_at: 1_700_000_001,
        usage,
        output: [
          message('completed', [textPart('Hi there')]),
          reasoning('completed', [{ type: 'summary_text', text: 'Short' }]),
          call('completed', '{"a":1}'),
        ],
      }),
    },
  ];
  return numbered(events);
}

function numbered(events: Loose[]): Loose[] {
  return events.map((event, i) => ({ ...event, sequence_number: i }));
}

/** Index of the `n`th event of a type (and, if given, output index). */
function find(events: Loose[], type: string, n = 0, outputIndex?: number): number {
  const matches = events.flatMap((e, i) => (e.type === type && (outputIndex === undefined || e.output_index === outputIndex) ? [i] : []));
  assert.ok(matches[n] !== undefined, `no ${type} #${n}`);
  return matches[n];
}

function moveBefore(events: Loose[], from: number, to: number): Loose[] {
  const copy = [...events];
  const [event] = copy.splice(from, 1);
  copy.splice(to > from ? to - 1 : to, 0, event);
  return numbered(copy);
}

function without(events: Loose[], index: number): Loose[] {
  return numbered(events.filter((_, i) => i !== index));
}

function check(events: Loose[], background = false): string[] {
  return checkStream(events as unknown as ResponseStreamEvent[], { background });
}

/** The stream breaks `rule` (and the message mentions `hint`, if given). */
function assertBreaks(events: Loose[], rule: string, hint?: string, background = false): void {
  const violations = check(events, background);
  const matching = violations.filter((v) => v.startsWith(`[${rule}]`) && (!hint || v.includes(hint)));
  assert.ok(matching.length > 0, `expected a [${rule}] violation${hint ? ` mentioning ${hint}` : ''}, got:\n${violations.join('\n')}`);
}

describe('checkStream', () => {
  it('accepts the conforming base stream, and the official schema agrees', () => {
    assert.deepEqual(check(base()), []);
    assertConformingStream(base() as unknown as ResponseStreamEvent[]);
  });

  it('accepts a lone error event (a request that failed before a response existed)', () => {
    const events = [{ type: 'error', sequence_number: 0, code: 'server_error', message: 'no', param: null }];
    assert.deepEqual(check(events), []);
  });

  describe('sequence', () => {
    it('catches a gap in sequence numbers', () => {
      const events = base();
      events.slice(5).forEach((e) => e.sequence_number++);
      assertBreaks(events, 'sequence', 'seq 6');
      assert.equal(check(events).filter((v) => v.startsWith('[sequence]')).length, 1, 'one gap, one violation');
    });

    it('catches a stream that does not start at 0', () => {
      assertBreaks(base().map((e) => ({ ...e, sequence_number: e.sequence_number + 1 })), 'sequence', 'expected sequence_number 0');
    });

    it('catches a missing sequence_number', () => {
      const events = base();
      delete events[4].sequence_number;
      assertBreaks(events, 'sequence', 'no sequence_number');
    });
  });

  describe('lifecycle', () => {
    it('catches a stream that does not begin with response.created', () => {
      assertBreaks(without(base(), 0), 'first-event');
    });

    it('allows response.queued only in background mode, before in_progress', () => {
      const events = base();
      events.splice(1, 0, { type: 'response.queued', response: response({ status: 'queued' }) });
      assert.deepEqual(check(numbered(events), true), []);
      assertBreaks(numbered(events), 'lifecycle', 'outside background mode');
      assertBreaks(moveBefore(numbered(events), 1, 3), 'lifecycle', 'after response.in_progress', true);
    });

    it('catches an item before response.in_progress', () => {
      const events = base();
      assertBreaks(moveBefore(events, 1, 4), 'lifecycle', 'before response.in_progress');
    });

    it('catches response.in_progress sent twice', () => {
      const events = base();
      events.splice(2, 0, events[1]);
      assertBreaks(numbered(events), 'lifecycle', 'sent twice');
    });
  });

  describe('terminal', () => {
    it('catches an event after the terminal event', () => {
      const events = base();
      events.push({ type: 'response.in_progress', response: response() });
      assertBreaks(numbered(events), 'terminal', 'after the terminal event');
    });

    it('catches a stream without a terminal event', () => {
      assertBreaks(base().slice(0, -1), 'terminal', 'no terminal event');
    });

    it('catches an error event after the response began', () => {
      const events = base().slice(0, 5);
      events.push({ type: 'error', code: 'server_error', message: 'boom', param: null });
      assertBreaks(numbered(events), 'terminal', 'use response.failed');
    });
  });

  describe('items', () => {
    it('catches a delta before its item is added', () => {
      const events = base();
      assertBreaks(moveBefore(events, find(events, 'response.function_call_arguments.delta'), find(events, 'response.output_item.added', 2)), 'item-announced', 'before its output_item.added');
    });

    it('catches an output_index that is not the count of items so far', () => {
      const events = base();
      events[find(events, 'response.output_item.added', 1)].output_index = 2;
      assertBreaks(events, 'item-announced', 'output_index 2, expected 1');
    });

    it('catches an item announced with a status other than in_progress', () => {
      const events = base();
      events[find(events, 'response.output_item.added', 2)].item.status = 'completed';
      assertBreaks(events, 'item-announced', 'expected in_progress');
    });

    it('catches an item_id that is not the announced item', () => {
      const events = base();
      events[find(events, 'response.output_text.delta', 1)].item_id = 'msg_other';
      assertBreaks(events, 'ids-agree', 'msg_other');
    });

    it('catches a missing output_item.done', () => {
      const events = base();
      assertBreaks(without(events, find(events, 'response.output_item.done', 2)), 'item-done', 'output 2 has no output_item.done');
    });

    it('catches an item done twice', () => {
      const events = base();
      events.splice(find(events, 'response.output_item.done', 0), 0, events[find(events, 'response.output_item.done', 0)]);
      assertBreaks(numbered(events), 'item-done', 'done twice');
    });

    it('catches an event about an item after its output_item.done', () => {
      const events = base();
      const doneAt = find(events, 'response.output_item.done', 0);
      events.splice(doneAt + 1, 0, { type: 'response.output_text.annotation.added', ...msg, content_index: 0, annotation_index: 0, annotation: { type: 'url_citation', url: 'https://example.com', title: 'x', start_index: 0, end_index: 2 } });
      assertBreaks(numbered(events), 'after-done', 'output 0');
    });
  });

  describe('content parts', () => {
    it('catches a wrong content_index', () => {
      const events = base();
      events[find(events, 'response.output_text.delta', 1)].content_index = 1;
      assertBreaks(events, 'part-announced', 'content_index 1 of output 0 before its content_part.added');
    });

    it('catches a content_part.added out of order', () => {
      const events = base();
      events[find(events, 'response.content_part.added')].content_index = 1;
      assertBreaks(events, 'part-announced', 'content_index 1, expected 0');
    });

    it('catches a delta before its content part is added', () => {
      const events = base();
      assertBreaks(moveBefore(events, find(events, 'response.output_text.delta'), find(events, 'response.content_part.added')), 'part-announced', 'before its content_part.added');
    });

    it('catches a delta of the wrong kind for its part', () => {
      const events = base();
      events[find(events, 'response.output_text.delta', 1)].type = 'response.refusal.delta';
      assertBreaks(events, 'part-announced', 'is output_text, not refusal');
    });

    it('catches a summary_index that was never added', () => {
      const events = base();
      events[find(events, 'response.reasoning_summary_text.delta')].summary_index = 1;
      assertBreaks(events, 'part-announced', 'summary_index 1 of output 1');
    });

    it('catches content_part.done before the text is done', () => {
      const events = base();
      assertBreaks(moveBefore(events, find(events, 'response.content_part.done'), find(events, 'response.output_text.done')), 'part-done', "before the part's text done");
    });

    it('catches an item done while its content part is still open', () => {
      const events = base();
      assertBreaks(without(events, find(events, 'response.content_part.done')), 'part-done', 'content part 0 of output 0 not done');
    });

    it('catches a summary part left open', () => {
      const events = base();
      assertBreaks(without(events, find(events, 'response.reasoning_summary_part.done')), 'part-done', 'summary part 0 of output 1 not done');
    });

    it('catches an event about a part after its content_part.done', () => {
      const events = base();
      events.splice(find(events, 'response.content_part.done') + 1, 0, { type: 'response.output_text.annotation.added', ...msg, content_index: 0, annotation_index: 0, annotation: { type: 'url_citation', url: 'https://example.com', title: 'x', start_index: 0, end_index: 2 } });
      assertBreaks(numbered(events), 'after-done', 'content 0/0');
    });
  });

  describe('deltas and done', () => {
    it('catches a done text that differs from the deltas', () => {
      const events = base();
      events[find(events, 'response.output_text.done')].text = 'Hi their';
      assertBreaks(events, 'delta-done', '"Hi their" differs from the deltas "Hi there"');
    });

    it('catches arguments that differ from their deltas', () => {
      const events = base();
      events[find(events, 'response.function_call_arguments.done')].arguments = '{}';
      assertBreaks(events, 'delta-done', 'arguments');
    });

    it('catches a delta stream that is never done', () => {
      const events = base();
      assertBreaks(without(events, find(events, 'response.reasoning_summary_text.done')), 'delta-done', 'no done event');
    });

    it('catches a delta after its done', () => {
      const events = base();
      assertBreaks(moveBefore(events, find(events, 'response.function_call_arguments.delta', 1), find(events, 'response.output_item.done', 0, 2)), 'delta-done', 'delta after its done');
    });
  });

  describe('the terminal response', () => {
    it('catches a terminal output that differs from what the events built', () => {
      const events = base();
      events.at(-1)!.response.output[0].content[0].text = 'Hi there!';
      assert.deepEqual(check(events).map((v) => v.slice(0, v.indexOf(']') + 1)), ['[terminal-output]']);
      assertBreaks(events, 'terminal-output', 'output[0] differs');
    });

    it('catches a terminal output missing an item', () => {
      const events = base();
      events.at(-1)!.response.output.pop();
      assertBreaks(events, 'terminal-output', 'output has 2 items, the events built 3');
    });

    it('catches a completed response without usage', () => {
      const events = base();
      delete events.at(-1)!.response.usage;
      assertBreaks(events, 'terminal-usage');
    });

    it('catches a status that does not match the terminal event', () => {
      const events = base();
      events.at(-1)!.response.status = 'in_progress';
      assertBreaks(events, 'terminal-status', 'expected completed');
    });

    it('catches an incomplete response without incomplete_details', () => {
      const events = base();
      Object.assign(events.at(-1)!, { type: 'response.incomplete' });
      events.at(-1)!.response.status = 'incomplete';
      assertBreaks(events, 'terminal-status', 'incomplete_details');
      events.at(-1)!.response.incomplete_details = { reason: 'max_output_tokens' };
      assert.deepEqual(check(events), []);
    });

    it('accepts failed or cancelled in response.failed, and wants the error of a failure', () => {
      const events = base();
      Object.assign(events.at(-1)!, { type: 'response.failed' });
      events.at(-1)!.response.status = 'cancelled';
      assert.deepEqual(check(events), []);
      events.at(-1)!.response.status = 'failed';
      assertBreaks(events, 'terminal-status', 'carries error');
      events.at(-1)!.response.status = 'completed';
      assertBreaks(events, 'terminal-status', 'expected failed or cancelled');
    });
  });
});

describe('official schema', () => {
  it('rejects an unknown event type', () => {
    const event = { type: 'response.function_call.thinking', sequence_number: 3 };
    assert.match(validateEvent(event) ?? '', /unknown event type/);
  });

  it("validates Parley's opt-in annotation.queued against spec/parley-events.json", () => {
    const event = { type: 'response.output_text.annotation.queued', sequence_number: 7, item_id: 'msg_1', output_index: 0, content_index: 0, annotation_index: 0, annotation: { type: 'url_citation', url: 'https://example.com/', start_index: 0, end_index: 5 } };
    assert.equal(validateEvent(event), null);
    assert.match(validateEvent({ type: 'response.output_text.annotation.queued', sequence_number: 3 }) ?? '', /ResponseOutputTextAnnotationQueuedEvent: .*item_id/);
    assert.match(validateEvent({ ...event, annotation: { type: 'url_citation' } }) ?? '', /ResponseOutputTextAnnotationQueuedEvent/, 'position fields are required');
    assert.match(validateEvent({ ...event, extra: 1 }) ?? '', /additional/);
  });

  it('rejects an event with a missing field, naming the member schema', () => {
    const event = { ...base()[4] };
    delete event.item_id;
    assert.match(validateEvent(event) ?? '', /ResponseTextDeltaEvent: .*item_id/);
  });

  it('validates other components by name', () => {
    assert.equal(validateSchema('Response', base().at(-1)!.response), null);
    assert.match(validateSchema('Error', { message: 'x' }) ?? '', /^Error: /);
  });

  it('assertConformingStream lists schema and rule problems together', () => {
    const events = base();
    events[4].type = 'response.output_text.deltas';
    assert.throws(
      () => assertConformingStream(events as unknown as ResponseStreamEvent[]),
      (error: Error) => error.message.includes('[schema] #4') && error.message.includes('[delta-done]'),
    );
  });
});

describe('accumulate', () => {
  const events = () => base() as unknown as ResponseStreamEvent[];

  it('rebuilds the terminal response', () => {
    assert.deepEqual(accumulate(events()), base().at(-1)!.response);
  });

  it('keeps the output it built when a lifecycle event carries another', () => {
    const stream = base();
    stream.splice(5, 0, { type: 'response.in_progress', response: response() });
    assert.equal((accumulate(numbered(stream).slice(0, 7) as unknown as ResponseStreamEvent[]).output[0] as Loose).content[0].text, 'Hi there');
  });

  const throwsOn = (mutate: (events: Loose[]) => Loose[], message: RegExp) => () =>
    assert.throws(() => accumulate(mutate(base()) as unknown as ResponseStreamEvent[]), message);

  it('names a missing output', throwsOn((e) => (e[4].output_index = 3, e), /missing output at index 3/));
  it('names an item_id mismatch', throwsOn((e) => (e[4].item_id = 'msg_x', e), /item_id mismatch at output 0/));
  it('names a delta after done', throwsOn((e) => numbered([...e.slice(0, 7), e[5], ...e.slice(7)]), /delta after done at 0\/0/));
  it('names an event after the item is done', throwsOn((e) => moveBefore(e, 18, 20), /after output_item.done at output 2/));
  it('names a done text that differs', throwsOn((e) => (e[6].text = 'Hi', e), /done text "Hi" differs from the deltas "Hi there"/));
  it('names an out-of-order item', throwsOn((e) => (e[9].output_index = 0, e), /expected output index 1, got 0/));
  it('names a first event that is not response.created', throwsOn((e) => e.slice(1), /first event must be response.created/));
  it('names an event after the terminal event', throwsOn((e) => numbered([...e, e[1]]), /after the terminal event/));
});

describe('server tool and annotation streams', () => {
  const url = { type: 'url_citation', url: 'https://example.com', title: 'Example', start_index: 0, end_index: 4 };
  const ws = (status: string) => ({ id: 'ws_1', type: 'web_search_call', status, action: { type: 'search', query: 'parley' } });
  const ci = (status: string, code: string, outputs: Loose[] | null) => ({ id: 'ci_1', type: 'code_interpreter_call', status, code, container_id: 'cntr_1', outputs });
  const cited = (text: string, annotations: Loose[]) => ({ type: 'output_text', text, annotations, logprobs: [] });
  const m = { item_id: 'msg_1', output_index: 2 };
  const final = [ws('completed'), ci('completed', 'print(1)', [{ type: 'logs', logs: '1\n' }]), message('completed', [cited('Seen', [url])])];

  const stream = (): Loose[] =>
    numbered([
      { type: 'response.created', response: response() },
      { type: 'response.in_progress', response: response() },
      { type: 'response.output_item.added', output_index: 0, item: ws('in_progress') },
      { type: 'response.web_search_call.in_progress', item_id: 'ws_1', output_index: 0 },
      { type: 'response.web_search_call.searching', item_id: 'ws_1', output_index: 0 },
      { type: 'response.web_search_call.completed', item_id: 'ws_1', output_index: 0 },
      { type: 'response.output_item.done', output_index: 0, item: ws('completed') },
      { type: 'response.output_item.added', output_index: 1, item: ci('in_progress', '', null) },
      { type: 'response.code_interpreter_call.in_progress', item_id: 'ci_1', output_index: 1 },
      { type: 'response.code_interpreter_call_code.delta', item_id: 'ci_1', output_index: 1, delta: 'print(' },
      { type: 'response.code_interpreter_call_code.delta', item_id: 'ci_1', output_index: 1, delta: '1)' },
      { type: 'response.code_interpreter_call_code.done', item_id: 'ci_1', output_index: 1, code: 'print(1)' },
      { type: 'response.code_interpreter_call.interpreting', item_id: 'ci_1', output_index: 1 },
      { type: 'response.code_interpreter_call.completed', item_id: 'ci_1', output_index: 1 },
      { type: 'response.output_item.done', output_index: 1, item: final[1] },
      { type: 'response.output_item.added', output_index: 2, item: message('in_progress', []) },
      { type: 'response.content_part.added', ...m, content_index: 0, part: cited('', []) },
      { type: 'response.output_text.delta', ...m, content_index: 0, delta: 'Seen', logprobs: [] },
      { type: 'response.output_text.annotation.added', ...m, content_index: 0, annotation_index: 0, annotation: url },
      { type: 'response.output_text.done', ...m, content_index: 0, text: 'Seen', logprobs: [] },
      { type: 'response.content_part.done', ...m, content_index: 0, part: cited('Seen', [url]) },
      { type: 'response.output_item.done', output_index: 2, item: final[2] },
      { type: 'response.completed', response: response({ status: 'completed', usage, output: final }) },
    ]);

  it('conform, accumulate, and agree with the official SDK accumulator', () => {
    const events = stream() as unknown as ResponseStreamEvent[];
    assertConformingStream(events);
    let snapshot: SdkResponse | undefined;
    for (const event of events.slice(0, -1)) snapshot = accumulateResponse(event as OfficialStreamEvent, snapshot);
    assert.deepEqual(snapshot!.output, accumulate(events).output);
  });

  it('tool status events set the item status as they go', () => {
    const events = stream().slice(0, 13) as unknown as ResponseStreamEvent[];
    const output = accumulate(events).output as Loose[];
    assert.equal(output[0].status, 'completed');
    assert.equal(output[1].status, 'interpreting');
    assert.equal(output[1].code, 'print(1)');
  });

  it('annotations must take the next index', () => {
    const events = stream();
    events[18].annotation_index = 1;
    assert.throws(() => accumulate(events as unknown as ResponseStreamEvent[]), /expected annotation index 0, got 1/);
  });

  it('a tool event must name an item of its own type', () => {
    const events = stream();
    events[9].item_id = 'ws_1';
    events[9].output_index = 0;
    assert.throws(() => accumulate(events as unknown as ResponseStreamEvent[]), /after output_item.done at output 0/);
    const early = stream();
    early[4].type = 'response.file_search_call.searching';
    assert.throws(() => accumulate(early as unknown as ResponseStreamEvent[]), /expects a file_search_call at output 0, found web_search_call/);
  });
});
