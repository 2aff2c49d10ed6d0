// Today's request surface (what Codex and other current clients send): namespace tools,
// cache-only web_search, developer messages, fields with no effect here, and the tool rule.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk } from '../helpers/fake-chat-upstream.js';
import { readSse, startTestServer, type TestServer } from '../helpers/server.js';
import { assertConformingStream } from '../helpers/spec.js';
import { eachWithChatUpstream } from '../helpers/upstream-server.js';

const multiAgent = {
  type: 'namespace',
  name: 'multi_agent_v1',
  description: 'Spawn and manage sub-agents.',
  tools: [
    {
      type: 'function',
      name: 'spawn_agent',
      description: 'Start a sub-agent',
      strict: false,
      parameters: { type: 'object', properties: { task: { type: 'string' } }, required: ['task'] },
    },
  ],
};

/** The shape of a request `codex exec` sends to a Responses provider. */
function codexShapedBody(model: string) {
  return {
    model,
    instructions: 'You are Codex, a coding agent.',
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions>sandboxed</permissions>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>cwd=/tmp</environment_context>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'spawn a helper' }] },
    ],
    tools: [
      {
        type: 'function',
        name: 'shell',
        description: 'Runs a shell command',
        strict: false,
        parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] },
      },
      multiAgent,
      { type: 'web_search', external_web_access: false },
    ],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    stream: true,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: 'codex-session-1',
    client_metadata: { originator: 'codex_exec' },
    service_tier: 'auto',
    text: { verbosity: 'medium' },
  };
}

async function postStream(server: TestServer, body: unknown) {
  const res = await fetch(`${server.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const events = (await readSse(res)) as ResponseStreamEvent[];
  assertConformingStream(events);
  return events;
}

function finalResponse(events: ResponseStreamEvent[]) {
  const last = events.at(-1)!;
  assert.equal(last.type, 'response.completed');
  return (last as Extract<ResponseStreamEvent, { type: 'response.completed' }>).response;
}

describe('namespace tools and a Codex-shaped request, over a Chat Completions upstream', () => {
  const ctx = eachWithChatUpstream();

  test('the namespaced function is offered under a flat name and its call maps back', async () => {
    ctx.upstream.script({
      chunks: [
        chunk.toolCall(0, { id: 'call_1', name: 'multi_agent_v1__spawn_agent', arguments: '{"task":' }),
        chunk.toolCall(0, { arguments: '"lint"}' }),
        chunk.finish('tool_calls'),
      ],
    });
    const events = await postStream(ctx.server, codexShapedBody('up-model'));
    const sent = ctx.upstream.requests[0];
    assert.deepEqual(
      sent.tools.map((t: { function: { name: string } }) => t.function.name),
      ['shell', 'multi_agent_v1__spawn_agent'],
      'cache-only web_search is not offered; the namespace is flattened',
    );
    assert.equal(sent.prompt_cache_key, 'codex-session-1');
    assert.deepEqual(sent.messages.map((m: { role: string }) => m.role), ['system', 'system', 'user', 'user']);
    const call = finalResponse(events).output[0];
    assert.equal(call.type, 'function_call');
    assert.deepEqual(
      { name: (call as { name: string }).name, namespace: (call as { namespace?: string }).namespace, args: (call as { arguments: string }).arguments },
      { name: 'spawn_agent', namespace: 'multi_agent_v1', args: '{"task":"lint"}' },
    );
    const done = events.find((e) => e.type === 'response.function_call_arguments.done') as { name?: string } | undefined;
    assert.equal(done?.name, 'spawn_agent');
    assert.ok(events.some((e) => e.type === 'response.function_call_arguments.delta'));
  });

  test('a namespaced call round-trips through previous_response_id with the openai SDK', async () => {
    ctx.upstream.script(
      { chunks: [chunk.toolCall(0, { id: 'call_9', name: 'multi_agent_v1__spawn_agent', arguments: '{"task":"x"}' }), chunk.finish('tool_calls')] },
      { chunks: [chunk.text('spawned'), chunk.finish('stop')] },
    );
    const first = await ctx.server.client.responses.create({
      model: 'up-model',
      input: 'go',
      tools: [multiAgent as never],
    });
    const call = first.output[0] as { type: string; call_id: string; namespace?: string };
    assert.equal(call.namespace, 'multi_agent_v1');
    const second = await ctx.server.client.responses.create({
      model: 'up-model',
      previous_response_id: first.id,
      tools: [multiAgent as never],
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'agent 7 started' }],
    });
    assert.equal(second.output_text, 'spawned');
    const history = ctx.upstream.requests[1].messages;
    const assistant = history.find((m: { role: string }) => m.role === 'assistant');
    assert.equal(assistant.tool_calls[0].function.name, 'multi_agent_v1__spawn_agent', 'the model sees the name it was offered');
    assert.deepEqual(history.at(-1), { role: 'tool', tool_call_id: 'call_9', content: 'agent 7 started' });
  });
});

describe('the tool rule', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const post = (tools: unknown[]) =>
    fetch(`${server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted', input: 'hi', tools }),
    });

  test('a type outside the official API → 400 naming it', async () => {
    const res = await post([{ type: 'time_machine' }]);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /'time_machine'/);
  });

  test('web_search without a back-end → 400 saying so', async () => {
    for (const tool of [{ type: 'web_search' }, { type: 'web_search', external_web_access: true }, { type: 'web_search_preview' }]) {
      const res = await post([tool]);
      assert.equal(res.status, 400);
      const { error } = (await res.json()) as { error: { message: string; code: string } };
      assert.equal(error.code, 'unsupported_tool');
      assert.match(error.message, /web search back-end/);
    }
  });

  test('cache-only web_search without a back-end → accepted, not offered', async () => {
    const res = await post([{ type: 'web_search', external_web_access: false }]);
    assert.equal(res.status, 200);
    const response = (await res.json()) as { output_text?: string; output: Array<{ type: string }>; tools: unknown[] };
    assert.deepEqual(response.output.map((i) => i.type), ['message']);
    assert.deepEqual(response.tools, [{ type: 'web_search', external_web_access: false }]);
  });

  test('namespace tools are accepted; a malformed one is a 400', async () => {
    assert.equal((await post([multiAgent])).status, 200);
    const empty = await post([{ type: 'namespace', name: 'ns', description: 'd', tools: [] }]);
    assert.equal(empty.status, 400);
    const bad = await post([{ type: 'namespace', name: 'ns', description: 'd', tools: [{ type: 'web_search' }] }]);
    assert.equal(bad.status, 400);
  });

  test('the scripted model calls a namespaced function by its flat name', async () => {
    const events = await postStream(server, {
      model: 'scripted',
      input: '/tool multi_agent_v1__spawn_agent {"task":"t"}',
      tools: [multiAgent],
      stream: true,
    });
    const call = finalResponse(events).output[0] as { name: string; namespace: string; arguments: string };
    assert.deepEqual([call.name, call.namespace, call.arguments], ['spawn_agent', 'multi_agent_v1', '{"task":"t"}']);
  });
});
