// Two-phase annotations (issue 9): `response.output_text.annotation.queued`, Parley's one event
// outside the official set, sent only to a client that opted in (`Parley-Stream-Events:
// annotation.queued`, or PARLEY_STREAM_EVENTS). With it, every annotation still being resolved
// is queued, then added at the same index, or dropped (and the next one takes that index).
// Without it, the same run sends only annotation.added and the SDK's stream helper completes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { toFile } from 'openai';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk, startFakeChatUpstream, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { articleHtml, startFakeWeb, type FakeWeb } from '../helpers/fake-web.js';
import { readSse, startTestServer, type TestServer } from '../helpers/server.js';
import { assertConformingStream } from '../helpers/spec.js';
import { collect, conform } from '../helpers/stream.js';

const OPT_IN = { headers: { 'Parley-Stream-Events': 'annotation.queued' } };
type Event = { type: string; annotation_index?: number; annotation?: Record<string, any> };
type OutputText = { text: string; annotations: Array<Record<string, any>> };

const answer = (response: ApiResponse): OutputText => {
  const message = response.output.find((i) => i.type === 'message') as unknown as { content: OutputText[] };
  return message.content[0];
};
const annotationEvents = (events: Event[]) => events.filter((e) => e.type.startsWith('response.output_text.annotation.'));

/** Streams with the opt-in; checks the stream with Parley's rules (the SDK does not know queued). */
async function optedIn(server: TestServer, body: Record<string, unknown>) {
  const stream = await server.client.responses.create({ ...body, stream: true } as never, OPT_IN);
  const events = await collect(stream as unknown as AsyncIterable<ResponseStreamEvent>);
  assertConformingStream(events as never, { background: body.background === true });
  // Without the queued events, the official SDK's accumulator rebuilds the same output.
  const official = events.filter((e) => (e.type as string) !== 'response.output_text.annotation.queued');
  const response = (events.at(-1) as { response: ApiResponse }).response;
  return { events: events as unknown as Event[], official, response };
}

/** Streams without the opt-in through the SDK's `responses.stream()` helper (it throws on unknown types). */
async function plain(server: TestServer, body: Record<string, unknown>) {
  const stream = server.client.responses.stream(body as never);
  const events: Event[] = [];
  for await (const event of stream) events.push(event as Event);
  const response = await stream.finalResponse();
  conform(events as never);
  return { events, response };
}

/** Every queued annotation is followed by its added at the same index; returns [queued, added] index pairs. */
function assertQueuedThenAdded(events: Event[], text: OutputText) {
  const seq = annotationEvents(events);
  const added = seq.filter((e) => e.type === 'response.output_text.annotation.added');
  assert.deepEqual(added.map((e) => e.annotation_index), text.annotations.map((_, i) => i), 'added indices are 0, 1, 2…');
  assert.deepEqual(added.map((e) => e.annotation), text.annotations, 'the final text has exactly the added annotations');
  for (const a of added) {
    const at = seq.indexOf(a);
    const queued = seq[at - 1];
    assert.equal(queued?.type, 'response.output_text.annotation.queued', `annotation ${a.annotation_index} was queued first`);
    assert.equal(queued.annotation_index, a.annotation_index);
    assert.equal(queued.annotation!.type, a.annotation!.type);
    for (const field of ['start_index', 'end_index', 'index', 'url', 'file_id']) {
      if (field in queued.annotation!) assert.equal(queued.annotation![field], a.annotation![field], field);
    }
  }
  const done = events.findIndex((e) => e.type === 'response.output_text.done');
  const partAdded = events.findIndex((e) => e.type === 'response.content_part.added' && (e as any).part.type === 'output_text');
  for (const e of seq) assert.ok(events.indexOf(e) > partAdded && events.indexOf(e) < done, 'between content_part.added and output_text.done');
}

describe('annotation.queued: web_search results without titles', () => {
  let web: FakeWeb;
  let server: TestServer;
  let settingServer: TestServer;

  before(async () => {
    web = await startFakeWeb();
    web.page('/otters', { title: 'Sea otters', html: articleHtml('Sea otters', ['Sea otters hold hands while they sleep. '.repeat(8)]) });
    web.page('/kelp', { title: 'Kelp forests', html: articleHtml('Kelp forests', ['Kelp forests shelter otters and urchins alike. '.repeat(6)]) });
    const env = { PARLEY_SEARCH_PROVIDER: 'searxng', PARLEY_SEARCH_URL: web.searxngUrl, PARLEY_OUTBOUND_ALLOW: '127.0.0.1', PARLEY_SEARCH_TIMEOUT_MS: '2000' };
    server = await startTestServer(env);
    settingServer = await startTestServer({ ...env, PARLEY_STREAM_EVENTS: 'annotation.queued' });
  });
  after(async () => {
    await server?.close();
    await settingServer?.close();
    await web?.close();
  });

  // The back-end gives no titles (the URL stands in): each cited page's title is fetched.
  const untitled = (paths: string[]) => (web.results = paths.map((p) => ({ url: `${web.origin}${p}`, title: '', snippet: `About ${p}.` })));
  const body = { model: 'scripted', input: '/tool web_search {"query":"sea otters"}', tools: [{ type: 'web_search' }] };

  test('opted in: each citation is queued, then added with the page title at the same index', async () => {
    untitled(['/otters', '/kelp']);
    const { events, official, response } = await optedIn(server, body);
    assert.equal(response.status, 'completed');
    const text = answer(response);
    assert.deepEqual(text.annotations.map((a) => [a.url, a.title]), [
      [`${web.origin}/otters`, 'Sea otters'],
      [`${web.origin}/kelp`, 'Kelp forests'],
      [`${web.origin}/otters`, 'Sea otters'],
    ]);
    assertQueuedThenAdded(events, text);
    assert.equal(events.filter((e) => e.type === 'response.output_text.annotation.queued').length, 3);
    assert.ok(official.length < events.length);
  });

  test('not opted in: the same run has no queued events, and responses.stream() completes', async () => {
    untitled(['/otters', '/kelp']);
    const { events, response } = await plain(server, body);
    assert.ok(!events.some((e) => e.type === 'response.output_text.annotation.queued'));
    assert.deepEqual(answer(response).annotations.map((a) => a.title), ['Sea otters', 'Kelp forests', 'Sea otters']);
  });

  test('an unresolvable target: queued, then dropped; the next citation takes its index; no broken annotation', async () => {
    untitled(['/otters', '/gone']);
    const { events, response } = await optedIn(server, body);
    const text = answer(response);
    assert.deepEqual(text.annotations.map((a) => a.url), [`${web.origin}/otters`, `${web.origin}/otters`], 'the 404 page is not cited');
    assert.ok(text.text.includes(`(${web.origin}/gone)`), 'the link stays in the text');
    assertQueuedThenAdded(events, text);
    const seq = annotationEvents(events).map((e) => `${e.type.split('.').pop()} ${e.annotation_index} ${e.annotation!.url.replace(web.origin, '')}`);
    assert.deepEqual(seq, ['queued 0 /otters', 'added 0 /otters', 'queued 1 /gone', 'queued 1 /otters', 'added 1 /otters']);
    for (const a of text.annotations) assert.ok(a.title && a.url && Number.isInteger(a.start_index) && Number.isInteger(a.end_index));
  });

  test('PARLEY_STREAM_EVENTS opts every client in; a later GET ?stream=true sees the same numbered events', async () => {
    untitled(['/otters', '/kelp']);
    const { events, response } = await optedIn(settingServer, { ...body, background: true });
    assert.equal(events.filter((e) => e.type === 'response.output_text.annotation.queued').length, 3);
    const replay = await readSse(await fetch(`${settingServer.url}/v1/responses/${response.id}?stream=true`));
    assert.deepEqual(replay, events);
    // Opted in by the header on a server without the setting: the replay (no header) is the same too.
    const first = await optedIn(server, { ...body, background: true });
    const again = await readSse(await fetch(`${server.url}/v1/responses/${first.response.id}?stream=true`));
    assert.deepEqual(again, first.events);
  });
});

describe('annotation.queued: file_search citation markers', () => {
  let up: FakeChatUpstream;
  let server: TestServer;
  let fileId: string;
  let storeId: string;

  before(async () => {
    up = await startFakeChatUpstream();
    server = await startTestServer({ PARLEY_UPSTREAM_URL: up.url, PARLEY_UPSTREAM_MODELS: 'up-model' });
    const bytes = readFileSync(new URL('../fixtures/file-search/sourdough.md', import.meta.url));
    const file = await server.client.files.create({ file: await toFile(bytes, 'sourdough.md'), purpose: 'assistants' });
    fileId = file.id;
    const store = await server.client.vectorStores.create({ name: 'kitchen', file_ids: [file.id] });
    storeId = store.id;
    while ((await server.client.vectorStores.retrieve(storeId)).file_counts.in_progress > 0) await new Promise((r) => setTimeout(r, 25));
  });
  after(async () => {
    await server?.close();
    await up?.close();
  });

  const script = () => {
    const marker = `【${fileId}】`;
    up.script(
      { chunks: [chunk.toolCall(0, { id: 'call_fs1', name: 'file_search', arguments: '{"queries":["sourdough starter"]}' }), chunk.finish('tool_calls')] },
      { chunks: [chunk.text('A starter needs a week'), chunk.text(marker), chunk.text(' and warmth'), chunk.text(`${marker}.`), chunk.finish('stop')] },
    );
  };
  const body = () => ({ model: 'up-model', input: 'Starter?', tools: [{ type: 'file_search', vector_store_ids: [storeId] }] });
  const expected = () => [
    { type: 'file_citation', file_id: fileId, filename: 'sourdough.md', index: 'A starter needs a week'.length },
    { type: 'file_citation', file_id: fileId, filename: 'sourdough.md', index: 'A starter needs a week and warmth'.length },
  ];

  test('opted in: each file citation is queued (its name looked up in the Files store), then added', async () => {
    script();
    const { events, response } = await optedIn(server, body());
    const text = answer(response);
    assert.equal(text.text, 'A starter needs a week and warmth.');
    assert.deepEqual(text.annotations, expected());
    assertQueuedThenAdded(events, text);
    const queued = events.filter((e) => e.type === 'response.output_text.annotation.queued');
    assert.deepEqual(queued.map((e) => e.annotation), expected().map(({ filename: _, ...known }) => known));
  });

  test('not opted in: no queued events, responses.stream() completes with the same annotations', async () => {
    script();
    const { events, response } = await plain(server, body());
    assert.ok(!events.some((e) => e.type === 'response.output_text.annotation.queued'));
    assert.deepEqual(answer(response).annotations, expected());
  });
});
