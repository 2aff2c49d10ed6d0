// Tool search over a Chat Completions upstream: tools with `defer_loading: true` are offered to
// the model only once a `tool_search` has loaded them. Server execution: Parley searches and
// writes tool_search_call + tool_search_output itself, then the model calls what it found.
// Client execution: the call goes to the client, whose tool_search_output loads the tools.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APIError } from 'openai';
import { chunk, type Script } from '../helpers/fake-chat-upstream.js';
import { validateSchema } from '../helpers/spec.js';
import { streamResponse } from '../helpers/stream.js';
import { eachWithChatUpstream } from '../helpers/upstream-server.js';

const byCustomer = { type: 'object', properties: { customer_id: { type: 'string' } }, required: ['customer_id'], additionalProperties: false };
const byOrder = { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'], additionalProperties: false };

const listOpenOrders = { type: 'function', name: 'list_open_orders', description: 'List open orders for a customer ID.', defer_loading: true, parameters: byCustomer, strict: true };
const shippingEta = { type: 'function', name: 'get_shipping_eta', description: 'Look up shipping ETA details for an order.', defer_loading: true, parameters: byOrder, strict: true };

const SERVER_TOOLS = [
  { type: 'function', name: 'get_weather', description: 'Current weather for a city.', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false },
  {
    type: 'namespace',
    name: 'crm',
    description: 'CRM tools for customer lookup and order management.',
    tools: [{ type: 'function', name: 'get_customer_profile', description: 'Fetch a customer profile by customer ID.', parameters: byCustomer, strict: true }, listOpenOrders],
  },
  shippingEta,
  { type: 'tool_search' },
];

const names = (request: { tools?: { function: { name: string } }[] }) => (request.tools ?? []).map((t) => t.function.name);
const toolCall = (id: string, name: string, args: string): Script => ({
  chunks: [chunk.toolCall(0, { id, name, arguments: args.slice(0, 9) }), chunk.toolCall(0, { arguments: args.slice(9) }), chunk.finish('tool_calls')],
});
const say = (text: string): Script => ({ chunks: [chunk.text(text), chunk.finish('stop')] });

describe('tool search', () => {
  const ctx = eachWithChatUpstream();

  test('server execution: Parley searches the deferred tools, writes both items, and offers what it found', async () => {
    const { upstream, server } = ctx;
    upstream.script(toolCall('call_search', 'tool_search', '{"query":"open orders of a customer"}'), (request) =>
      names(request).includes('crm__list_open_orders')
        ? toolCall('call_orders', 'crm__list_open_orders', '{"customer_id":"CUST-12345"}')
        : say(`crm__list_open_orders was not offered, only ${names(request).join(', ')}`),
    );
    const { events, response } = await streamResponse(server.client, { model: 'up-model', input: 'List open orders for CUST-12345.', tools: SERVER_TOOLS });

    // Deferred tools are not offered at first; the search function lists what it can load.
    const [first, second] = upstream.requests;
    assert.deepEqual(names(first), ['get_weather', 'crm__get_customer_profile', 'tool_search']);
    const search = first.tools[2].function;
    assert.match(search.description, /- crm \(namespace\): CRM tools for customer lookup/);
    assert.match(search.description, /- get_shipping_eta: Look up shipping ETA/);
    assert.doesNotMatch(search.description, /list_open_orders/);

    assert.deepEqual(
      response.output.map((item) => item.type),
      ['tool_search_call', 'tool_search_output', 'function_call'],
    );
    const [call, output, fn] = response.output as any[];
    assert.match(call.id, /^tsc_/);
    assert.deepEqual([call.execution, call.call_id, call.status, call.arguments], ['server', null, 'completed', { query: 'open orders of a customer' }]);
    assert.match(output.id, /^tso_/);
    assert.deepEqual([output.execution, output.call_id, output.status], ['server', null, 'completed']);
    assert.deepEqual(output.tools, [{ type: 'namespace', name: 'crm', description: 'CRM tools for customer lookup and order management.', tools: [listOpenOrders] }]);
    assert.deepEqual([fn.namespace, fn.name, fn.arguments, fn.call_id], ['crm', 'list_open_orders', '{"customer_id":"CUST-12345"}', 'call_orders']);
    assert.equal(response.status, 'completed');

    // Each item is announced and closed, nothing in between (there are no tool search events).
    const added = events.findIndex((e) => e.type === 'response.output_item.added' && e.item.type === 'tool_search_call');
    assert.deepEqual(
      events.slice(added, added + 4).map((e) => e.type),
      ['response.output_item.added', 'response.output_item.done', 'response.output_item.added', 'response.output_item.done'],
    );

    // The next step offers the loaded tool and shows the model its search and what it loaded.
    assert.ok(names(second).includes('crm__list_open_orders'));
    assert.ok(!names(second).includes('get_shipping_eta'));
    const assistant = second.messages.find((m: any) => m.role === 'assistant');
    assert.deepEqual(assistant.tool_calls[0], { id: 'call_search', type: 'function', function: { name: 'tool_search', arguments: '{"query":"open orders of a customer"}' } });
    const result = second.messages.find((m: any) => m.role === 'tool');
    assert.equal(result.tool_call_id, 'call_search');
    assert.match(result.content, /crm__list_open_orders: List open orders/);

    // A later turn: the tool stays loaded (the items are in the chain) and the model sees the search again.
    upstream.script(say('CUST-12345 has one open order.'));
    const next = await server.client.responses.create({
      model: 'up-model',
      previous_response_id: response.id,
      tools: SERVER_TOOLS as never,
      input: [{ type: 'function_call_output', call_id: 'call_orders', output: '[{"order":"o-1"}]' }],
    });
    assert.equal(next.output_text, 'CUST-12345 has one open order.');
    const third = upstream.requests[2];
    assert.ok(names(third).includes('crm__list_open_orders'));
    assert.ok(!names(third).includes('get_shipping_eta'));
    const searchCall = third.messages.flatMap((m: any) => m.tool_calls ?? []).find((c: any) => c.function.name === 'tool_search');
    assert.equal(searchCall.id, call.id, "a server search's call id is its item's id");
    const searchResult = third.messages.find((m: any) => m.role === 'tool' && m.tool_call_id === call.id);
    assert.match(searchResult.content, /crm__list_open_orders/);

    const stored = await server.client.responses.retrieve(response.id);
    assert.deepEqual(stored.output, response.output);
  });

  test('server execution: paths load by name, and a search that finds nothing loads nothing', async () => {
    const { upstream, server } = ctx;
    upstream.script(
      toolCall('call_1', 'tool_search', '{"paths":["get_shipping_eta"]}'),
      toolCall('call_2', 'tool_search', '{"query":"quantum teleportation"}'),
      (request) => say(names(request).join(',')),
    );
    const { response } = await streamResponse(server.client, { model: 'up-model', input: 'When does order_42 arrive?', tools: SERVER_TOOLS });
    const outputs = response.output.filter((item) => item.type === 'tool_search_output') as any[];
    assert.deepEqual(outputs.map((o) => o.tools), [[shippingEta], []]);
    const answer = response.output.find((item) => item.type === 'message') as any;
    assert.equal(answer.content[0].text, 'get_weather,crm__get_customer_profile,tool_search,get_shipping_eta');
    const nothing = upstream.requests[2].messages.filter((m: any) => m.role === 'tool').at(-1);
    assert.match(nothing.content, /No tools were loaded/);
  });

  test('client execution: the call goes to the client, and its tool_search_output loads the tools', async () => {
    const { upstream, server } = ctx;
    const clientSearch = {
      type: 'tool_search',
      execution: 'client',
      description: 'Find the project-specific tools needed to continue the task.',
      parameters: { type: 'object', properties: { goal: { type: 'string' } }, required: ['goal'], additionalProperties: false },
    };
    upstream.script(toolCall('call_ts1', 'tool_search', '{"goal":"Find the shipping ETA tool for order_42."}'));
    const { response } = await streamResponse(server.client, {
      model: 'up-model',
      input: 'Find the shipping ETA tool first, then use it for order_42.',
      tools: [clientSearch],
    });
    const offered = upstream.requests[0].tools;
    assert.deepEqual(offered.map((t: any) => t.function.name), ['tool_search']);
    assert.equal(offered[0].function.description, clientSearch.description);
    assert.deepEqual(offered[0].function.parameters, clientSearch.parameters);

    assert.equal(response.status, 'completed');
    assert.equal(response.output.length, 1);
    const call = response.output[0] as any;
    assert.deepEqual(
      [call.type, call.execution, call.call_id, call.status, call.arguments],
      ['tool_search_call', 'client', 'call_ts1', 'completed', { goal: 'Find the shipping ETA tool for order_42.' }],
    );

    // The client answers with the tools it found (no id: Parley gives it one).
    upstream.script((request) =>
      names(request).includes('get_shipping_eta') ? toolCall('call_eta', 'get_shipping_eta', '{"order_id":"order_42"}') : say(`offered: ${names(request).join(', ')}`),
    );
    const loadedEta = { type: 'function', name: 'get_shipping_eta', description: 'Look up shipping ETA details for an order.', parameters: byOrder, strict: true };
    const second = await server.client.responses.create({
      model: 'up-model',
      previous_response_id: response.id,
      tools: [clientSearch] as never,
      input: [{ type: 'tool_search_output', call_id: 'call_ts1', execution: 'client', tools: [loadedEta] }] as never,
    });
    const fn = second.output[0] as any;
    assert.deepEqual([fn.type, fn.name, fn.arguments], ['function_call', 'get_shipping_eta', '{"order_id":"order_42"}'], JSON.stringify(second.output));

    const request = upstream.requests[1];
    assert.deepEqual(names(request), ['tool_search', 'get_shipping_eta']);
    const assistant = request.messages.find((m: any) => m.role === 'assistant');
    assert.deepEqual(assistant.tool_calls[0], {
      id: 'call_ts1',
      type: 'function',
      function: { name: 'tool_search', arguments: '{"goal":"Find the shipping ETA tool for order_42."}' },
    });
    const result = request.messages.find((m: any) => m.role === 'tool');
    assert.equal(result.tool_call_id, 'call_ts1');
    assert.match(result.content, /get_shipping_eta: Look up shipping ETA/);

    // Stored and listed like any input item, in the shape the API gives it.
    const items = await server.client.responses.inputItems.list(second.id);
    const stored = items.data[0] as any;
    assert.match(stored.id, /^tso_/);
    assert.deepEqual([stored.type, stored.execution, stored.call_id, stored.status], ['tool_search_output', 'client', 'call_ts1', 'completed']);
    assert.equal(validateSchema('ToolSearchOutput', stored), null);
    assert.equal(validateSchema('ToolSearchCall', call), null);
  });

  test('client execution with the whole history as input (store: false, as Codex sends it)', async () => {
    const { upstream, server } = ctx;
    upstream.script((request) => say(names(request).join(',')));
    const response = await server.client.responses.create({
      model: 'up-model',
      store: false,
      tools: [{ type: 'tool_search', execution: 'client', parameters: { type: 'object', properties: { query: { type: 'string' } } } }] as never,
      input: [
        { role: 'user', content: 'Find a calendar tool.' },
        { type: 'tool_search_call', call_id: 'search-1', execution: 'client', arguments: { query: 'calendar create' } },
        {
          type: 'tool_search_output',
          call_id: 'search-1',
          execution: 'client',
          tools: [{ type: 'namespace', name: 'calendar', description: 'Calendar tools.', tools: [{ type: 'function', name: 'create_event', parameters: { type: 'object', properties: {} } }] }],
        },
      ] as never,
    });
    assert.equal(response.output_text, 'tool_search,calendar__create_event');
    const assistant = upstream.requests[0].messages.find((m: any) => m.role === 'assistant');
    assert.deepEqual(assistant.tool_calls[0].function, { name: 'tool_search', arguments: '{"query":"calendar create"}' });
  });

  test('bad declarations and items get a 400 naming the parameter', async () => {
    const { server } = ctx;
    const rejects = async (body: Record<string, unknown>, param: string) => {
      await assert.rejects(server.client.responses.create({ model: 'up-model', input: 'hi', ...body } as never), (error: unknown) => {
        assert.ok(error instanceof APIError);
        assert.equal(error.status, 400);
        assert.equal(error.param, param, error.message);
        return true;
      });
    };
    await rejects({ tools: [{ type: 'tool_search', execution: 'sometimes' }] }, 'tools[0].execution');
    await rejects({ tools: [{ type: 'tool_search', parameters: 'query' }] }, 'tools[0].parameters');
    await rejects({ tools: [{ type: 'tool_search' }, { type: 'tool_search', execution: 'client' }] }, 'tools[1].type');
    await rejects({ tools: [shippingEta] }, 'tools[0].defer_loading');
    await rejects({ tools: [SERVER_TOOLS[1]] }, 'tools[0].tools[1].defer_loading');
    await rejects({ tools: [{ ...shippingEta, defer_loading: 'yes' }, { type: 'tool_search' }] }, 'tools[0].defer_loading');
    await rejects({ tools: [{ type: 'tool_search' }], input: [{ type: 'tool_search_output', execution: 'elsewhere', tools: [] }] }, 'input[0].execution');
    await rejects({ tools: [{ type: 'tool_search' }], input: [{ type: 'tool_search_output', call_id: 'c', tools: [{ type: 'web_search' }] }] }, 'input[0].tools[0].type');
    await rejects({ tools: [{ type: 'mcp', server_label: 'docs', server_url: 'https://example.com/mcp', defer_loading: true }, { type: 'tool_search' }] }, 'tools[0].defer_loading');
  });
});
