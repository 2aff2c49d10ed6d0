// Custom tools (free-form text input): offered to function-only models as one string
// parameter, streamed to the client as custom_tool_call_input deltas while the model writes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk } from '../helpers/fake-chat-upstream.js';
import { APPLY_PATCH_LARK } from '../helpers/grammars.js';
import { assertConformingStream } from '../helpers/spec.js';
import { eachWithChatUpstream } from '../helpers/upstream-server.js';

const PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+Hello, "world" \\ ✓\n*** End Patch';

const applyPatch = {
  type: 'custom' as const,
  name: 'apply_patch',
  description: 'Apply a patch to files.',
  format: { type: 'grammar' as const, syntax: 'lark' as const, definition: APPLY_PATCH_LARK },
};

async function collect(stream: AsyncIterable<ResponseStreamEvent>) {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  assertConformingStream(events);
  return events;
}

describe('custom tools', () => {
  const ctx = eachWithChatUpstream();

  test('an upstream call of a grammar tool is checked, then written out with its deltas, then round-trips', async () => {
    const args = JSON.stringify({ input: PATCH });
    const pieces = [args.slice(0, 5), args.slice(5, 20), args.slice(20, 33), args.slice(33, 50), args.slice(50)];
    ctx.upstream.script(
      {
        chunks: [
          chunk.toolCall(0, { id: 'call_p1', name: 'apply_patch', arguments: pieces[0] }),
          ...pieces.slice(1).map((p) => chunk.toolCall(0, { arguments: p })),
          chunk.finish('tool_calls'),
        ],
      },
      { chunks: [chunk.text('Patched.'), chunk.finish('stop')] },
    );
    const events = await collect(
      await ctx.server.client.responses.create({ model: 'up-model', input: 'add hello.txt', tools: [applyPatch], stream: true }),
    );
    const deltas = events.filter((e) => e.type === 'response.custom_tool_call_input.delta');
    assert.ok(deltas.length >= 3, `input written in ${deltas.length} deltas`);
    assert.equal(deltas.map((e) => (e as { delta: string }).delta).join(''), PATCH);
    // Held until it matched, then written in one burst: added, deltas, done, item done.
    const types = events.slice(events.findIndex((e) => e.type === 'response.output_item.added')).map((e) => e.type);
    assert.deepEqual(types.slice(0, deltas.length + 3), [
      'response.output_item.added',
      ...deltas.map(() => 'response.custom_tool_call_input.delta'),
      'response.custom_tool_call_input.done',
      'response.output_item.done',
    ]);
    const done = events.find((e) => e.type === 'response.custom_tool_call_input.done') as { input: string };
    assert.equal(done.input, PATCH);
    const final = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    const call = final.response.output[0] as { type: string; name: string; input: string; call_id: string };
    assert.deepEqual([call.type, call.name, call.input, call.call_id], ['custom_tool_call', 'apply_patch', PATCH, 'call_p1']);

    // The model was offered a function with one string parameter, the grammar in its description.
    const offered = ctx.upstream.requests[0].tools[0].function;
    assert.equal(offered.name, 'apply_patch');
    assert.deepEqual(offered.parameters.required, ['input']);
    assert.match(offered.description, /lark grammar/);

    const second = await ctx.server.client.responses.create({
      model: 'up-model',
      previous_response_id: final.response.id,
      tools: [applyPatch],
      input: [{ type: 'custom_tool_call_output', call_id: 'call_p1', output: 'Done!' }],
    });
    assert.equal(second.output_text, 'Patched.');
    const history = ctx.upstream.requests[1].messages;
    const assistant = history.find((m: { role: string }) => m.role === 'assistant');
    assert.deepEqual(assistant.tool_calls[0], { id: 'call_p1', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) } });
    assert.deepEqual(history.at(-1), { role: 'tool', tool_call_id: 'call_p1', content: 'Done!' });
  });

  test('the scripted model calls a custom tool; a custom tool inside a namespace keeps its namespace', async () => {
    const events = await collect(
      await ctx.server.client.responses.create({
        model: 'scripted',
        input: `/tool apply_patch ${JSON.stringify({ input: PATCH })}`,
        tools: [applyPatch],
        stream: true,
      }),
    );
    const final = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    assert.equal((final.response.output[0] as { input: string }).input, PATCH);

    const namespaced = await ctx.server.client.responses.create({
      model: 'scripted',
      input: '/tool files__write {"input":"abc"}',
      tools: [{ type: 'namespace', name: 'files', description: 'File tools', tools: [{ type: 'custom', name: 'write' }] } as never],
    });
    const call = namespaced.output[0] as { type: string; name: string; namespace?: string; input: string };
    assert.deepEqual([call.type, call.name, call.namespace, call.input], ['custom_tool_call', 'write', 'files', 'abc']);
  });

  test('a malformed custom tool format is a 400', async () => {
    const res = await fetch(`${ctx.server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted', input: 'x', tools: [{ type: 'custom', name: 'p', format: { type: 'grammar', syntax: 'peg' } }] }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, 'tools[0].format');
  });
});
