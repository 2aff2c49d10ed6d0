// mcp end to end: a real MCP server (the SDK's McpServer over stateless Streamable HTTP on
// node:http, 127.0.0.1) with two tools, one of which fails; Parley streaming through the official
// SDK with the scripted model (`/tool calc__add {...}` calls the function with those arguments),
// every stream checked against the official schema, the stream rules and the SDK's accumulator.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { z } from 'zod';
import { readBody } from '../helpers/fake-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { streamResponse } from '../helpers/stream.js';

interface FakeMcp {
  url: string;
  /** tools/list requests received. */
  listings: number;
  /** tools/call requests received, by tool name. */
  calls: string[];
  /** Authorization headers seen. */
  authorizations: string[];
  close(): Promise<void>;
}

interface FakeMcpOptions {
  /** Speak only the older HTTP+SSE transport (GET /mcp opens the stream, POST /messages carries requests). */
  sseOnly?: boolean;
  /** A third tool, `wait`, that answers after this many ms. */
  waitMs?: number;
}

function mcpServer(options: FakeMcpOptions = {}): McpServer {
  const server = new McpServer({ name: 'calc', version: '1.0.0' });
  if (options.waitMs !== undefined) {
    const waitMs = options.waitMs;
    server.registerTool('wait', { description: 'Answers slowly.', inputSchema: {} }, async () => {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      return { content: [{ type: 'text', text: 'done waiting' }] };
    });
  }
  server.registerTool(
    'add',
    { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() }, annotations: { readOnlyHint: true } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  server.registerTool('explode', { description: 'Always fails.', inputSchema: { why: z.string().optional() } }, async () => {
    throw new Error('the detonator is broken');
  });
  return server;
}

async function startFakeMcp(options: FakeMcpOptions = {}): Promise<FakeMcp> {
  const state = { listings: 0, calls: [] as string[], authorizations: [] as string[] };
  const sessions = new Map<string, SSEServerTransport>();
  const httpServer = http.createServer(async (req, res) => {
    if (options.sseOnly) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/mcp') {
        const transport = new SSEServerTransport('/messages', res);
        sessions.set(transport.sessionId, transport);
        res.on('close', () => sessions.delete(transport.sessionId));
        await mcpServer(options).connect(transport);
        return;
      }
      const transport = sessions.get(url.searchParams.get('sessionId') ?? '');
      if (req.method === 'POST' && url.pathname === '/messages' && transport) {
        const body = await readBody(req);
        if (body?.method === 'tools/list') state.listings++;
        if (body?.method === 'tools/call') state.calls.push(body.params?.name);
        await transport.handlePostMessage(req, res, body);
        return;
      }
      res.writeHead(req.method === 'POST' ? 405 : 404).end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const body = await readBody(req);
    for (const message of Array.isArray(body) ? body : [body]) {
      if (message?.method === 'tools/list') state.listings++;
      if (message?.method === 'tools/call') state.calls.push(message.params?.name);
    }
    if (req.headers.authorization) state.authorizations.push(req.headers.authorization);
    const server = mcpServer(options);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  });
}

type Item = Record<string, any>;
const items = (response: ApiResponse, type: string) => response.output.filter((i) => i.type === type) as unknown as Item[];
const answer = (response: ApiResponse) => {
  const message = response.output.find((i) => i.type === 'message') as unknown as { content: Array<{ text: string }> } | undefined;
  assert.ok(message, 'the response has a message');
  return message.content[0].text;
};
/** The events of item `id`, in order. */
const lifecycle = (events: ResponseStreamEvent[], id: string) =>
  events.filter((e) => ('item_id' in e && e.item_id === id) || ('item' in e && (e.item as { id?: string }).id === id)).map((e) => e.type);

describe('mcp tools over Streamable HTTP', () => {
  let mcp: FakeMcp;
  let server: TestServer;
  const tool = (extra: Record<string, unknown> = {}) => ({ type: 'mcp', server_label: 'calc', server_url: mcp.url, require_approval: 'never', ...extra });

  before(async () => {
    mcp = await startFakeMcp();
    server = await startTestServer({ PARLEY_OUTBOUND_ALLOW: '127.0.0.1' });
  });
  after(async () => {
    await server?.close();
    await mcp?.close();
  });

  test('lists the tools, streams a call, and the model reads its result', async () => {
    const { events, response } = await streamResponse(server.client, {
      model: 'scripted',
      input: '/tool calc__add {"a":2,"b":3}',
      tools: [tool({ authorization: 'secret-token', server_description: 'A calculator.' })],
    });
    assert.equal(response.status, 'completed');
    const [list] = items(response, 'mcp_list_tools');
    assert.equal(list.server_label, 'calc');
    assert.deepEqual(
      list.tools.map((t: Item) => t.name),
      ['add', 'explode'],
    );
    const add = list.tools[0];
    assert.equal(add.description, 'Adds two numbers.');
    assert.equal(add.input_schema.type, 'object');
    assert.deepEqual(Object.keys(add.input_schema.properties), ['a', 'b']);
    assert.equal(add.annotations.readOnlyHint, true);
    assert.deepEqual(lifecycle(events, list.id), ['response.output_item.added', 'response.mcp_list_tools.in_progress', 'response.mcp_list_tools.completed', 'response.output_item.done']);

    const [call] = items(response, 'mcp_call');
    assert.equal(call.name, 'add');
    assert.equal(call.server_label, 'calc');
    assert.equal(call.arguments, '{"a":2,"b":3}');
    assert.equal(call.output, '5');
    assert.equal(call.status, 'completed');
    const steps = lifecycle(events, call.id);
    assert.equal(steps[0], 'response.output_item.added');
    assert.equal(steps[1], 'response.mcp_call.in_progress');
    assert.ok(steps.includes('response.mcp_call_arguments.delta'));
    assert.deepEqual(steps.slice(-3), ['response.mcp_call_arguments.done', 'response.mcp_call.completed', 'response.output_item.done']);
    assert.equal(answer(response), 'Tool results: calc__add returned 5.');
    assert.ok(mcp.authorizations.includes('Bearer secret-token'), 'authorization is sent as a bearer token');
    const stored = await server.client.responses.retrieve(response.id);
    assert.ok(!JSON.stringify(stored).includes('secret-token'), 'the token is neither shown nor stored');
    assert.ok(!JSON.stringify(response).includes('secret-token'));
  });

  test('a failing tool: mcp_call.failed with the error, and the model is told', async () => {
    const { events, response } = await streamResponse(server.client, {
      model: 'scripted',
      input: '/tool calc__explode {"why":"test"}',
      tools: [tool()],
    });
    assert.equal(response.status, 'completed');
    const [call] = items(response, 'mcp_call');
    assert.equal(call.status, 'failed');
    assert.equal(call.output, null);
    assert.equal(call.error.type, 'mcp_tool_execution_error');
    assert.match(JSON.stringify(call.error.content), /the detonator is broken/);
    assert.deepEqual(lifecycle(events, call.id).slice(-2), ['response.mcp_call.failed', 'response.output_item.done']);
    assert.match(answer(response), /^Tool results: calc__explode returned The tool explode of calc failed: .*the detonator is broken/);
  });

  test('allowed_tools limits what is listed and offered', async () => {
    const { response } = await streamResponse(server.client, {
      model: 'scripted',
      input: 'hello',
      tools: [tool({ allowed_tools: { read_only: true } })],
    });
    const [list] = items(response, 'mcp_list_tools');
    assert.deepEqual(
      list.tools.map((t: Item) => t.name),
      ['add'],
    );
  });

  test('approval required: the response ends with a request; approving runs the call; the list is reused', async () => {
    const first = await streamResponse(server.client, {
      model: 'scripted',
      input: '/tool calc__add {"a":20,"b":22}',
      tools: [tool({ require_approval: { never: { tool_names: ['explode'] } } })],
    });
    assert.equal(first.response.status, 'completed');
    const [request] = items(first.response, 'mcp_approval_request');
    assert.ok(request, 'an approval request');
    assert.equal(first.response.output.at(-1)?.type, 'mcp_approval_request');
    assert.deepEqual({ name: request.name, server_label: request.server_label, arguments: request.arguments }, { name: 'add', server_label: 'calc', arguments: '{"a":20,"b":22}' });
    assert.match(request.id, /^mcpr_/);
    assert.equal(items(first.response, 'mcp_call').length, 0);
    const callsBefore = mcp.calls.length;
    const listingsBefore = mcp.listings;

    const second = await streamResponse(server.client, {
      model: 'scripted',
      previous_response_id: first.response.id,
      input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
      tools: [tool({ require_approval: { never: { tool_names: ['explode'] } } })],
    });
    assert.equal(second.response.status, 'completed');
    assert.equal(items(second.response, 'mcp_list_tools').length, 0, 'the list in the chain is reused');
    assert.equal(mcp.listings, listingsBefore, 'the server is not asked for its tools again');
    const [call] = items(second.response, 'mcp_call');
    assert.equal(call.approval_request_id, request.id);
    assert.equal(call.output, '42');
    assert.equal(call.status, 'completed');
    assert.deepEqual(mcp.calls.slice(callsBefore), ['add']);
    assert.equal(answer(second.response), 'Tool results: calc__add returned 42.');

    // A third turn reads the call from the chain and does not run it again.
    const third = await streamResponse(server.client, {
      model: 'scripted',
      previous_response_id: second.response.id,
      input: 'thanks',
      tools: [tool()],
      tool_choice: 'none',
    });
    assert.equal(third.response.status, 'completed');
    assert.equal(answer(third.response), 'You said: thanks');
    assert.equal(mcp.listings, listingsBefore);
    assert.deepEqual(mcp.calls.slice(callsBefore), ['add']);
  });

  test('approval denied: nothing runs and the model is told', async () => {
    const first = await streamResponse(server.client, { model: 'scripted', input: '/tool calc__add {"a":1,"b":1}', tools: [tool({ require_approval: 'always' })] });
    const [request] = items(first.response, 'mcp_approval_request');
    const callsBefore = mcp.calls.length;
    const second = await streamResponse(server.client, {
      model: 'scripted',
      previous_response_id: first.response.id,
      input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: false, reason: 'not today' }],
      tools: [tool({ require_approval: 'always' })],
    });
    assert.equal(second.response.status, 'completed');
    assert.equal(items(second.response, 'mcp_call').length, 0);
    assert.equal(mcp.calls.length, callsBefore, 'the tool did not run');
    assert.match(answer(second.response), /^Tool results: calc__add returned The user denied this call .*Reason: not today/);
  });

  test('a server that is down: mcp_list_tools.failed, and the response still completes', async () => {
    const down = await startFakeMcp();
    await down.close();
    const { events, response } = await streamResponse(server.client, {
      model: 'scripted',
      input: 'hello',
      tools: [{ type: 'mcp', server_label: 'gone', server_url: down.url, require_approval: 'never' }],
    });
    assert.equal(response.status, 'completed');
    const [list] = items(response, 'mcp_list_tools');
    assert.deepEqual(list.tools, []);
    assert.match(list.error, /Could not list the tools of gone/);
    assert.ok(lifecycle(events, list.id).includes('response.mcp_list_tools.failed'));
    assert.equal(answer(response), 'You said: hello');
  });

  test('a server that only speaks HTTP+SSE is reached through the fallback', async () => {
    const legacy = await startFakeMcp({ sseOnly: true });
    try {
      const { response } = await streamResponse(server.client, {
        model: 'scripted',
        input: '/tool old__add {"a":4,"b":5}',
        tools: [{ type: 'mcp', server_label: 'old', server_url: legacy.url, require_approval: 'never' }],
      });
      const [list] = items(response, 'mcp_list_tools');
      assert.equal(list.error ?? null, null);
      assert.deepEqual(
        list.tools.map((t: Item) => t.name),
        ['add', 'explode'],
      );
      const [call] = items(response, 'mcp_call');
      assert.equal(call.output, '9');
      assert.equal(answer(response), 'Tool results: old__add returned 9.');
      assert.deepEqual(legacy.calls, ['add']);
    } finally {
      await legacy.close();
    }
  });

  test('connector_id is refused with a 400', async () => {
    await assert.rejects(
      server.client.responses.create({ model: 'scripted', input: 'hi', tools: [{ type: 'mcp', server_label: 'drive', connector_id: 'connector_googledrive' }] } as never),
      (error: { status?: number; message?: string }) => error.status === 400 && /connector_id' is not supported/.test(String(error.message)),
    );
  });
});

describe('mcp and the outbound guard', () => {
  let mcp: FakeMcp;
  let server: TestServer;
  before(async () => {
    mcp = await startFakeMcp();
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
    await mcp?.close();
  });

  test('a loopback server URL is refused without PARLEY_OUTBOUND_ALLOW', async () => {
    const { response } = await streamResponse(server.client, {
      model: 'scripted',
      input: 'hello',
      tools: [{ type: 'mcp', server_label: 'calc', server_url: mcp.url, require_approval: 'never' }],
    });
    assert.equal(response.status, 'completed');
    const [list] = items(response, 'mcp_list_tools');
    assert.match(list.error, /loopback .*PARLEY_OUTBOUND_ALLOW/);
    assert.equal(mcp.listings, 0, 'nothing reached the server');
  });
});

describe('mcp timeouts', () => {
  let mcp: FakeMcp;
  let server: TestServer;
  before(async () => {
    mcp = await startFakeMcp({ waitMs: 3000 });
    server = await startTestServer({ PARLEY_OUTBOUND_ALLOW: '127.0.0.1', PARLEY_MCP_TIMEOUT_MS: '300' });
  });
  after(async () => {
    await server?.close();
    await mcp?.close();
  });

  test('a call that takes too long: mcp_call.failed, and the model is told', async () => {
    const { events, response } = await streamResponse(server.client, {
      model: 'scripted',
      input: '/tool slow__wait {}',
      tools: [{ type: 'mcp', server_label: 'slow', server_url: mcp.url, require_approval: 'never' }],
    });
    assert.equal(response.status, 'completed');
    const [call] = items(response, 'mcp_call');
    assert.equal(call.status, 'failed');
    assert.equal(call.error.type, 'mcp_protocol_error');
    assert.match(call.error.message, /timed out/i);
    assert.ok(lifecycle(events, call.id).includes('response.mcp_call.failed'));
    assert.match(answer(response), /^Tool results: slow__wait returned The tool wait of slow failed: .*timed out/i);
  });
});
