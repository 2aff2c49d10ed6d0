// The deferred-tool catalog of tool search: what the model is shown, how paths resolve, and
// the BM25 keyword search (deterministic: the same query always loads the same tools).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { terms } from '../../src/tools/tool-search/bm25.js';
import { DeferredCatalog, type ToolDefinition } from '../../src/tools/tool-search/catalog.js';
import { clientTools } from '../../src/tools/client-tools.js';

const fn = (name: string, description: string, deferred = true): ToolDefinition => ({
  type: 'function',
  name,
  description,
  parameters: { type: 'object', properties: {} },
  strict: false,
  ...(deferred && { defer_loading: true }),
});

const TOOLS: ToolDefinition[] = [
  fn('get_weather', 'Current weather for a city.', false),
  {
    type: 'namespace',
    name: 'crm',
    description: 'CRM tools for customer lookup and order management.',
    tools: [fn('get_customer_profile', 'Fetch a customer profile by customer ID.', false), fn('list_open_orders', 'List open orders for a customer ID.')],
  },
  {
    type: 'namespace',
    name: 'calendar',
    description: 'Calendar tools.',
    tools: [fn('create_event', 'Create a calendar event with a title and a time.'), fn('delete_event', 'Delete a calendar event.')],
  },
  fn('get_shipping_eta', 'Look up shipping ETA details for an order.'),
  { type: 'custom', name: 'apply_patch', description: 'Apply a patch to files.', defer_loading: true },
];

const namesOf = (tools: ToolDefinition[]) =>
  tools.flatMap((tool) => (tool.type === 'namespace' ? (tool.tools ?? []).map((inner) => `${tool.name}.${inner.name}`) : [String(tool.name)]));

test('identifiers are split into words', () => {
  assert.deepEqual(terms('getShippingEta list_open_orders'), ['get', 'shipping', 'eta', 'list', 'open', 'order']);
});

test('the listing shows deferred tools and namespaces, not namespace members', () => {
  assert.equal(
    new DeferredCatalog(TOOLS).listing(),
    [
      '- crm (namespace): CRM tools for customer lookup and order management.',
      '- calendar (namespace): Calendar tools.',
      '- get_shipping_eta: Look up shipping ETA details for an order.',
      '- apply_patch: Apply a patch to files.',
    ].join('\n'),
  );
});

test('paths load a tool, a namespace (its deferred members) or one member', () => {
  const catalog = new DeferredCatalog(TOOLS);
  assert.deepEqual(namesOf(catalog.find({ paths: ['get_shipping_eta'] })), ['get_shipping_eta']);
  assert.deepEqual(namesOf(catalog.find({ paths: ['calendar'] })), ['calendar.create_event', 'calendar.delete_event']);
  assert.deepEqual(namesOf(catalog.find({ paths: ['calendar.delete_event', 'crm__list_open_orders'] })), ['calendar.delete_event', 'crm.list_open_orders']);
  assert.deepEqual(namesOf(catalog.find({ paths: ['nothing_like_this'] })), []);
  // Namespace members come back inside their namespace, as tool_search_output lists them.
  const [crm] = catalog.find({ paths: ['crm'] });
  assert.deepEqual({ ...crm, tools: crm.tools?.length }, { type: 'namespace', name: 'crm', description: 'CRM tools for customer lookup and order management.', tools: 1 });
});

test('a query finds tools by name and description; an unknown path is searched as keywords', () => {
  const catalog = new DeferredCatalog(TOOLS);
  assert.deepEqual(namesOf(catalog.find({ query: 'create a calendar event' })), ['calendar.create_event', 'calendar.delete_event']);
  assert.deepEqual(namesOf(catalog.find({ query: 'delete event' })), ['calendar.delete_event']);
  assert.deepEqual(namesOf(catalog.find({ query: 'shipping time of an order' })), ['get_shipping_eta']);
  assert.deepEqual(namesOf(catalog.find({ paths: ['patch files'] })), ['apply_patch']);
  assert.deepEqual(namesOf(catalog.find({ query: 'quantum teleportation' })), []);
  assert.deepEqual(namesOf(catalog.find('not an object')), []);
});

test('deferred tools are offered once a tool_search_output in the context loaded them', () => {
  const declared = [...TOOLS, { type: 'tool_search' }] as never[];
  const before = clientTools(declared);
  assert.deepEqual(
    before.functions.map((f) => f.name),
    ['get_weather', 'crm__get_customer_profile', 'tool_search'],
  );
  const context = [{ type: 'tool_search_output', call_id: null, execution: 'server', tools: new DeferredCatalog(TOOLS).find({ paths: ['calendar.create_event', 'apply_patch'] }) }];
  const after = clientTools(declared, [], context);
  assert.deepEqual(
    after.functions.map((f) => f.name),
    ['get_weather', 'crm__get_customer_profile', 'tool_search', 'calendar__create_event', 'apply_patch'],
  );
  assert.deepEqual(after.fromModel('calendar__create_event'), { kind: 'function', name: 'create_event', namespace: 'calendar' });
  assert.equal(after.fromModel('apply_patch').kind, 'custom');
});

test('a namespace marked deferred as a whole is searchable by its name, its members hidden until loaded', () => {
  const calendar = {
    type: 'namespace',
    name: 'calendar',
    description: 'Calendar tools.',
    defer_loading: true,
    tools: [fn('create_event', 'Create a calendar event.', false), fn('delete_event', 'Delete a calendar event.', false)],
  };
  const declared = [calendar, { type: 'tool_search' }] as never[];
  const catalog = new DeferredCatalog(declared);
  assert.equal(catalog.listing(), '- calendar (namespace): Calendar tools.');
  assert.deepEqual(namesOf(catalog.find({ paths: ['calendar'] })), ['calendar.create_event', 'calendar.delete_event']);
  assert.deepEqual(
    clientTools(declared).functions.map((f) => f.name),
    ['tool_search'],
  );
});
