// Grammar-constrained custom tools over a loopback Chat Completions upstream: an input that
// does not match the tool's grammar goes back to the model (at most twice); the client only
// ever sees the call that is finally written out. Free-form custom tools still stream live.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk, type Script } from '../helpers/fake-chat-upstream.js';
import { APPLY_PATCH_LARK } from '../helpers/grammars.js';
import { assertConformingStream } from '../helpers/spec.js';
import { eachWithChatUpstream } from '../helpers/upstream-server.js';

const applyPatch = {
  type: 'custom' as const,
  name: 'apply_patch',
  description: 'Apply a patch to files.',
  format: { type: 'grammar' as const, syntax: 'lark' as const, definition: APPLY_PATCH_LARK },
};
const VALID = '*** Begin Patch\n*** Add File: hello.txt\n+Hello, "world" \\ ✓\n*** End Patch';
const NO_END = '*** Begin Patch\n*** Add File: hello.txt\n+Hello\n';
const NO_PLUS = '*** Begin Patch\n*** Add File: hello.txt\nHello\n*** End Patch';
const NO_HUNK = '*** Begin Patch\n*** End Patch';

/** One upstream step: a call of `name` whose arguments arrive in `pieces` chunks. */
function callScript(callId: string, input: string, name = 'apply_patch', pieces = 4, delayMs?: number): Script {
  const args = JSON.stringify({ input });
  const size = Math.ceil(args.length / pieces);
  const parts = Array.from({ length: pieces }, (_, i) => args.slice(i * size, (i + 1) * size));
  return {
    chunks: [
      chunk.toolCall(0, { id: callId, name, arguments: parts[0] }),
      ...parts.slice(1).map((p) => chunk.toolCall(0, { arguments: p })),
      chunk.finish('tool_calls'),
    ],
    delayMs,
  };
}

type Completed = Extract<ResponseStreamEvent, { type: 'response.completed' }>;
type Call = { type: string; name: string; input: string; call_id: string };

async function collect(stream: AsyncIterable<ResponseStreamEvent>, arrivals?: number[]) {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    arrivals?.push(performance.now());
  }
  assertConformingStream(events);
  return events;
}

const toolMessages = (request: { messages: Array<{ role: string; content?: string }> }) =>
  request.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

describe('custom tool grammars', () => {
  const ctx = eachWithChatUpstream();

  test('an invalid patch goes back to the model; the client sees only the valid call', async () => {
    ctx.upstream.script(callScript('call_bad', NO_PLUS), callScript('call_good', VALID));
    const events = await collect(
      await ctx.server.client.responses.create({ model: 'up-model', input: 'add hello.txt', tools: [applyPatch], stream: true }),
    );
    const final = (events.at(-1) as Completed).response;
    assert.equal(final.status, 'completed');
    assert.equal(final.output.length, 1);
    const call = final.output[0] as Call;
    assert.deepEqual([call.type, call.name, call.input, call.call_id], ['custom_tool_call', 'apply_patch', VALID, 'call_good']);
    const inputs = events.filter((e) => e.type === 'response.custom_tool_call_input.done').map((e) => (e as { input: string }).input);
    assert.deepEqual(inputs, [VALID], 'the invalid call never reached the client');
    const deltas = events.filter((e) => e.type === 'response.custom_tool_call_input.delta').map((e) => (e as { delta: string }).delta);
    assert.equal(deltas.join(''), VALID);

    // The second step saw the model's invalid call and why it was refused.
    assert.equal(ctx.upstream.requests.length, 2);
    const retry = ctx.upstream.requests[1];
    const assistant = retry.messages.find((m: { role: string }) => m.role === 'assistant');
    assert.deepEqual(assistant.tool_calls[0], {
      id: 'call_bad',
      type: 'function',
      function: { name: 'apply_patch', arguments: JSON.stringify({ input: NO_PLUS }) },
    });
    const [error] = toolMessages(retry);
    assert.match(
      error,
      /^The input does not match the tool's lark grammar: line 3, column 1: expected .*"\+".*; found "Hello"\. Call the tool again with input that matches\.$/,
    );
    assert.equal(retry.messages.at(-1).tool_call_id, 'call_bad');
  });

  test('after two retries the last invalid call is returned as it is', async () => {
    ctx.upstream.script(callScript('call_1', NO_HUNK), callScript('call_2', NO_END), callScript('call_3', NO_PLUS));
    const response = await ctx.server.client.responses.create({ model: 'up-model', input: 'add hello.txt', tools: [applyPatch] });
    assert.equal(response.status, 'completed');
    assert.equal(response.output.length, 1);
    const call = response.output[0] as unknown as Call;
    assert.deepEqual([call.type, call.input, call.call_id], ['custom_tool_call', NO_PLUS, 'call_3']);
    assert.equal(ctx.upstream.requests.length, 3);
    const errors = toolMessages(ctx.upstream.requests[2]);
    assert.equal(errors.length, 2);
    assert.match(errors[0], /line 2, column 1: expected "\*\*\* Add File: ", "\*\*\* Delete File: " or "\*\*\* Update File: "; found "\*\*\* End Patch"/);
    assert.match(errors[1], /line 4, column 1: .*the input ends there/);
    // Stored as returned: the next turn starts from the call the client saw.
    const stored = await ctx.server.client.responses.retrieve(response.id);
    assert.equal((stored.output[0] as unknown as Call).input, NO_PLUS);
  });

  test('the streamed events of a retried response conform', async () => {
    ctx.upstream.script(callScript('call_1', NO_END), callScript('call_2', NO_HUNK), callScript('call_3', NO_END));
    const events = await collect(
      await ctx.server.client.responses.create({ model: 'up-model', input: 'add hello.txt', tools: [applyPatch], stream: true }),
    );
    const added = events.filter((e) => e.type === 'response.output_item.added');
    assert.equal(added.length, 1, 'one item: the call written out after the retries');
    const final = (events.at(-1) as Completed).response;
    assert.deepEqual(final.output.map((item) => (item as unknown as Call).call_id), ['call_3']);
    // Every step's tokens count, the retried ones included.
    assert.ok(final.usage!.output_tokens >= 3, `output tokens: ${final.usage!.output_tokens}`);
  });

  test('a free-form custom tool still streams its input while the model writes it', async () => {
    const freeform = { type: 'custom' as const, name: 'apply_patch', description: 'Apply a patch to files.' };
    ctx.upstream.script(callScript('call_f', NO_PLUS, 'apply_patch', 5, 60));
    const arrivals: number[] = [];
    const events = await collect(
      await ctx.server.client.responses.create({ model: 'up-model', input: 'go', tools: [freeform], stream: true }),
      arrivals,
    );
    const firstDelta = events.findIndex((e) => e.type === 'response.custom_tool_call_input.delta');
    const done = events.findIndex((e) => e.type === 'response.custom_tool_call_input.done');
    assert.ok(firstDelta > 0 && done > firstDelta);
    assert.ok(arrivals[done] - arrivals[firstDelta] >= 100, `the first delta came ${arrivals[done] - arrivals[firstDelta]} ms before the end`);
    assert.equal((events[done] as { input: string }).input, NO_PLUS, 'free-form input is never checked');
    assert.equal(ctx.upstream.requests.length, 1);
  });

  test('a regex grammar accepts a matching input and retries one that does not', async () => {
    const inventory = {
      type: 'custom' as const,
      name: 'inventory',
      format: { type: 'grammar' as const, syntax: 'regex' as const, definition: String.raw`(?P<verb>add|remove) (?<item>[a-z]+)(?: x\d+)?` },
    };
    ctx.upstream.script(callScript('call_a', 'add apples x3', 'inventory', 2));
    const first = await ctx.server.client.responses.create({ model: 'up-model', input: 'buy apples', tools: [inventory] });
    assert.equal((first.output[0] as unknown as Call).input, 'add apples x3');
    assert.equal(ctx.upstream.requests.length, 1);

    ctx.upstream.script(callScript('call_b', 'eat apples', 'inventory', 2), callScript('call_c', 'remove apples', 'inventory', 2));
    const second = await ctx.server.client.responses.create({ model: 'up-model', input: 'eat apples', tools: [inventory] });
    assert.deepEqual(
      second.output.map((item) => (item as unknown as Call).input),
      ['remove apples'],
    );
    const [error] = toolMessages(ctx.upstream.requests[2]);
    assert.match(error, /^The input does not match the tool's regex grammar: line 1, column 1: found "eat apples", which the pattern does not allow here\./);
  });

  test('a grammar that cannot be used is a 400 naming tools[i].format', async () => {
    const post = (tools: unknown[]) =>
      fetch(`${ctx.server.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'up-model', input: 'x', tools }),
      });
    const fn = { type: 'function', name: 'f', parameters: { type: 'object', properties: {} } };
    const cases: Array<[unknown[], string, RegExp]> = [
      [[fn, { type: 'custom', name: 'p', format: { type: 'grammar', syntax: 'lark', definition: 'start: hunk+' } }], 'tools[1].format', /lark grammar cannot be used: line 1: rule hunk is not defined/],
      [[{ type: 'custom', name: 'p', format: { type: 'grammar', syntax: 'regex', definition: 'a(?=b)' } }], 'tools[0].format', /regex grammar cannot be used: look-around/],
      [
        [{ type: 'namespace', name: 'files', description: 'd', tools: [{ type: 'custom', name: 'w', format: { type: 'grammar', syntax: 'lark', definition: 'start: A\nA: A "a"' } }] }],
        'tools[0].tools[0].format',
        /line 2: terminal A refers to itself/,
      ],
    ];
    for (const [tools, param, message] of cases) {
      const res = await post(tools);
      assert.equal(res.status, 400);
      const { error } = (await res.json()) as { error: { param: string; message: string; code: string } };
      assert.equal(error.param, param);
      assert.equal(error.code, 'invalid_value');
      assert.match(error.message, message);
    }
    assert.equal(ctx.upstream.requests.length, 0);
  });
});
