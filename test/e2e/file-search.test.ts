// file_search end to end: the official SDK uploads real documents (text, Markdown, HTML, a PDF and
// a DOCX made by the tests), builds vector stores, polls ingestion, searches (lexically; hybrid
// against a loopback embeddings upstream), and runs responses with the file_search tool — with
// the scripted model and over a loopback Chat Completions upstream — whose streams are checked
// against the official schema, the stream rules and the SDK's accumulator, and whose citations
// must point at the right files. Bad input must get clear errors and leave the store consistent.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import OpenAI, { APIError, toFile } from 'openai';
import type { FileObject } from 'openai/resources/files';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { VectorStore } from 'openai/resources/vector-stores/vector-stores';
import { makeDocx, makePdf } from '../helpers/documents.js';
import { chunk, startFakeChatUpstream, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { startFakeEmbeddings, type FakeEmbeddings } from '../helpers/fake-embeddings.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { validateSchema } from '../helpers/spec.js';
import { streamResponse } from '../helpers/stream.js';

const FIXTURES = new URL('../fixtures/file-search/', import.meta.url);

/** The labelled documents: the fixture files, plus the PDF and DOCX made from their `.lines`. */
function documents(): Array<{ name: string; bytes: Buffer }> {
  const dir = FIXTURES.pathname;
  const docs: Array<{ name: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir).sort()) {
    const bytes = readFileSync(join(dir, name));
    if (name.endsWith('.pdf.lines') || name.endsWith('.txt.lines')) docs.push({ name: 'tides.pdf', bytes: makePdf(lines(bytes)) });
    else if (name.endsWith('.docx.lines')) docs.push({ name: 'printing.docx', bytes: makeDocx(lines(bytes)) });
    else if (name !== 'queries.json') docs.push({ name, bytes });
  }
  return docs;
}
const lines = (bytes: Buffer) => bytes.toString('utf8').trim().split('\n');

async function upload(client: OpenAI, name: string, content: Buffer | string): Promise<FileObject> {
  return client.files.create({ file: await toFile(Buffer.from(content), name), purpose: 'assistants' });
}

/** Waits until no file of the store is in progress. */
async function settled(client: OpenAI, id: string, timeoutMs = 20_000): Promise<VectorStore> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const store = await client.vectorStores.retrieve(id);
    if (store.file_counts.in_progress === 0) return store;
    if (Date.now() > deadline) assert.fail(`vector store ${id} still has ${store.file_counts.in_progress} files in progress`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function rawSearch(server: TestServer, id: string, body: Record<string, unknown>) {
  const res = await fetch(`${server.url}/v1/vector_stores/${id}/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function apiError(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  assert.fail('expected an API error');
}

function noSchemaErrors(name: string, value: unknown) {
  assert.equal(validateSchema(name, value), null);
}

type OutputText = { type: 'output_text'; text: string; annotations: Array<{ type: string; file_id?: string; filename?: string; index?: number }> };
type FileSearchCall = { id: string; type: 'file_search_call'; status: string; queries: string[]; results?: Array<Record<string, any>> | null };

const answer = (response: ApiResponse) => {
  const message = response.output.find((i) => i.type === 'message') as unknown as { content: OutputText[] } | undefined;
  assert.ok(message, 'the response has a message');
  return message.content[0];
};
const fileSearchCalls = (response: ApiResponse) => response.output.filter((i) => i.type === 'file_search_call') as unknown as FileSearchCall[];

describe('Files, vector stores, search and the file_search tool (scripted model)', () => {
  let server: TestServer;
  let client: OpenAI;
  const byName = new Map<string, FileObject>();
  let store: VectorStore;

  before(async () => {
    server = await startTestServer();
    client = server.client;
    for (const doc of documents()) byName.set(doc.name, await upload(client, doc.name, doc.bytes));
    store = await client.vectorStores.create({ name: 'library', file_ids: [...byName.values()].map((f) => f.id), metadata: { team: 'docs' } });
    assert.equal(store.status, 'in_progress');
    for (const file of byName.values()) {
      const done = await client.vectorStores.files.poll(store.id, file.id);
      assert.equal(done.status, 'completed', `${file.filename}: ${JSON.stringify(done.last_error)}`);
    }
    store = await client.vectorStores.retrieve(store.id);
  });

  after(async () => {
    await server?.close();
  });

  test('uploads are File objects; list, retrieve and content work', async () => {
    const files = [...byName.values()];
    for (const file of files) noSchemaErrors('OpenAIFile', file);
    const pdf = byName.get('tides.pdf')!;
    assert.equal(pdf.object, 'file');
    assert.match(pdf.id, /^file-[A-Za-z0-9]{22}$/);
    assert.equal(pdf.purpose, 'assistants');

    const listed = await client.files.list({ purpose: 'assistants' });
    assert.equal(listed.data.length, files.length);
    const raw = await (await fetch(`${server.url}/v1/files?limit=2&order=asc`)).json();
    noSchemaErrors('ListFilesResponse', raw);
    assert.equal(raw.data.length, 2);
    assert.equal(raw.has_more, true);
    assert.equal(raw.data[0].id, files[0].id, 'ascending order is upload order');

    assert.deepEqual(await client.files.retrieve(pdf.id), pdf);
    const content = Buffer.from(await (await client.files.content(pdf.id)).arrayBuffer());
    assert.deepEqual(content, documents().find((d) => d.name === 'tides.pdf')!.bytes);

    const expiring = await client.files.create({ file: await toFile(Buffer.from('short-lived'), 'tmp.txt'), purpose: 'user_data', expires_after: { anchor: 'created_at', seconds: 3600 } });
    assert.equal(expiring.expires_at, expiring.created_at + 3600);
    assert.equal((await client.files.list({ purpose: 'user_data' })).data.length, 1);
    assert.deepEqual(await client.files.delete(expiring.id), { id: expiring.id, object: 'file', deleted: true });
    assert.equal((await apiError(client.files.content(expiring.id))).status, 404);
  });

  test('the vector store counts its files and bytes; every file is completed', async () => {
    noSchemaErrors('VectorStoreObject', store);
    assert.equal(store.status, 'completed');
    assert.deepEqual(store.file_counts, { in_progress: 0, completed: byName.size, failed: 0, cancelled: 0, total: byName.size });
    assert.deepEqual(store.metadata, { team: 'docs' });
    const files = await client.vectorStores.files.list(store.id, { limit: 100 });
    assert.equal(files.data.length, byName.size);
    for (const file of files.data) {
      noSchemaErrors('VectorStoreFileObject', file);
      assert.ok(file.usage_bytes > 0);
      assert.deepEqual(file.chunking_strategy, { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } });
    }
    assert.equal(store.usage_bytes, files.data.reduce((n, f) => n + f.usage_bytes, 0));
    const page = await (await fetch(`${server.url}/v1/vector_stores/${store.id}/files?limit=3`)).json();
    noSchemaErrors('ListVectorStoreFilesResponse', page);
    assert.equal(page.has_more, true);
  });

  test('text is extracted from HTML, PDF and DOCX', async () => {
    const text = async (name: string) => {
      const page = await (await fetch(`${server.url}/v1/vector_stores/${store.id}/files/${byName.get(name)!.id}/content`)).json();
      noSchemaErrors('VectorStoreFileContentResponse', page);
      return page.data.map((d: { text: string }) => d.text).join('');
    };
    const html = await text('aqueducts.html');
    assert.match(html, /Pont du Gard in southern France/);
    assert.match(html, /Aqua Marcia/);
    assert.doesNotMatch(html, /analytics|font-family|<p>/, 'scripts, styles and tags are gone');
    assert.match(await text('tides.pdf'), /Bay of Fundy in Canada/);
    assert.match(await text('printing.docx'), /Johannes Gutenberg built a printing press/);
  });

  test('search: the page is OpenAI-shaped and the right file comes first', async () => {
    const { status, body } = await rawSearch(server, store.id, { query: 'What causes spring and neap tides?' });
    assert.equal(status, 200);
    noSchemaErrors('VectorStoreSearchResultsPage', body);
    assert.deepEqual(body.search_query, ['What causes spring and neap tides?']);
    assert.equal(body.data[0].file_id, byName.get('tides.pdf')!.id);
    assert.equal(body.data[0].filename, 'tides.pdf');
    assert.match(body.data[0].content[0].text, /neap tides/);
    for (const hit of body.data) assert.ok(hit.score >= 0 && hit.score <= 1);

    const sdk = await client.vectorStores.search(store.id, { query: ['espresso grind', 'water temperature pour over'], max_num_results: 2 });
    assert.equal(sdk.data.length, 2);
    assert.equal(sdk.data[0].filename, 'coffee.md');

    const rewritten = await rawSearch(server, store.id, { query: 'How do the bees find the flowers?', rewrite_query: true });
    assert.deepEqual(rewritten.body.search_query, ['bees find flowers']);
    assert.equal(rewritten.body.data[0].filename, 'honeybees.txt');

    const all = await rawSearch(server, store.id, { query: 'water' });
    const strict = await rawSearch(server, store.id, { query: 'water', ranking_options: { score_threshold: all.body.data[1].score + 1e-6 } });
    assert.ok(all.body.data.length > 2);
    assert.equal(strict.body.data.length, 1, 'score_threshold drops the lower scores');

    const nothing = await rawSearch(server, store.id, { query: 'zyzzyva quixotic' });
    assert.deepEqual(nothing.body.data, []);
  });

  test('attribute filters: eq, ne, gt, gte, lt, lte, in, nin, and, or', async () => {
    const attrs: Record<string, Record<string, string | number | boolean>> = {
      'sourdough.md': { topic: 'food', year: 2019, reviewed: true },
      'coffee.md': { topic: 'food', year: 2023, reviewed: false },
      'volcanoes.txt': { topic: 'science', year: 2021 },
      'tides.pdf': { topic: 'science', year: 2024, reviewed: true },
    };
    for (const [name, attributes] of Object.entries(attrs)) {
      const updated = await client.vectorStores.files.update(byName.get(name)!.id, { vector_store_id: store.id, attributes });
      assert.deepEqual(updated.attributes, attributes);
    }
    // "water" matches sourdough, coffee, volcanoes? no — use a query that every one of them matches.
    const query = 'water heat temperature rock sea moon flour coffee';
    const names = async (filters: unknown) => {
      const { status, body } = await rawSearch(server, store.id, { query, filters, max_num_results: 50 });
      assert.equal(status, 200, JSON.stringify(body));
      return [...new Set(body.data.map((d: { filename: string }) => d.filename))].sort();
    };
    assert.deepEqual(await names({ type: 'eq', key: 'topic', value: 'food' }), ['coffee.md', 'sourdough.md']);
    assert.deepEqual(await names({ type: 'gt', key: 'year', value: 2021 }), ['coffee.md', 'tides.pdf']);
    assert.deepEqual(await names({ type: 'gte', key: 'year', value: 2021 }), ['coffee.md', 'tides.pdf', 'volcanoes.txt']);
    assert.deepEqual(await names({ type: 'lt', key: 'year', value: 2021 }), ['sourdough.md']);
    assert.deepEqual(await names({ type: 'lte', key: 'year', value: 2021 }), ['sourdough.md', 'volcanoes.txt']);
    assert.deepEqual(await names({ type: 'in', key: 'year', value: [2019, 2024] }), ['sourdough.md', 'tides.pdf']);
    assert.deepEqual(await names({ type: 'eq', key: 'reviewed', value: true }), ['sourdough.md', 'tides.pdf']);
    assert.deepEqual(
      await names({ type: 'and', filters: [{ type: 'eq', key: 'topic', value: 'science' }, { type: 'ne', key: 'year', value: 2021 }] }),
      ['tides.pdf'],
    );
    assert.deepEqual(
      await names({ type: 'or', filters: [{ type: 'eq', key: 'topic', value: 'food' }, { type: 'gte', key: 'year', value: 2024 }] }),
      ['coffee.md', 'sourdough.md', 'tides.pdf'],
    );
    const notFood = await names({ type: 'nin', key: 'topic', value: ['food'] });
    assert.ok(notFood.includes('tides.pdf') && notFood.includes('volcanoes.txt') && !notFood.includes('coffee.md'));
    assert.ok(notFood.length > 2, 'files without the attribute pass nin');

    const bad = await rawSearch(server, store.id, { query, filters: { type: 'like', key: 'topic', value: 'f' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'filters.type');
  });

  test(`retrieval quality on the labelled set: the right document in the top 3`, async () => {
    const queries = JSON.parse(readFileSync(new URL('queries.json', FIXTURES), 'utf8')) as Array<{ query: string; file: string }>;
    let hits = 0;
    let firsts = 0;
    const misses: string[] = [];
    for (const { query, file } of queries) {
      const page = await client.vectorStores.search(store.id, { query, max_num_results: 10 });
      const top3 = [...new Set(page.data.map((d) => d.filename))].slice(0, 3);
      if (top3[0] === file) firsts++;
      if (top3.includes(file)) hits++;
      else misses.push(`${query} → ${top3.join(', ')} (wanted ${file})`);
    }
    const rate = hits / queries.length;
    console.log(
      `file_search retrieval quality (lexical, ${byName.size} documents): the right document in the top 3 for ${hits}/${queries.length} queries ` +
        `(${(rate * 100).toFixed(1)} %), first for ${firsts}/${queries.length} (${((firsts / queries.length) * 100).toFixed(1)} %)` +
        (misses.length ? `; misses: ${misses.join('; ')}` : ''),
    );
    assert.ok(rate >= 0.9, `top-3 hit rate ${rate}`);
  });

  test('a streamed response with file_search: lifecycle events, results, file citations', async () => {
    const tides = byName.get('tides.pdf')!;
    const { events, response } = await streamResponse(client, {
      model: 'scripted',
      input: '/tool file_search {"queries":["spring tides and neap tides"]}',
      tools: [{ type: 'file_search', vector_store_ids: [store.id], max_num_results: 2 }],
      include: ['file_search_call.results'],
    });
    assert.equal(response.status, 'completed');
    const [call] = fileSearchCalls(response);
    assert.match(call.id, /^fs_/);
    assert.equal(call.status, 'completed');
    assert.deepEqual(call.queries, ['spring tides and neap tides']);
    assert.equal(call.results!.length, 2);
    assert.equal(call.results![0].file_id, tides.id);
    assert.equal(call.results![0].filename, 'tides.pdf');
    assert.match(call.results![0].text, /neap tides/);

    const lifecycle = events
      .filter((e) => e.type.startsWith('response.file_search_call.') || (e.type.startsWith('response.output_item.') && (e as any).item.type === 'file_search_call'))
      .map((e) => e.type);
    assert.deepEqual(lifecycle, [
      'response.output_item.added',
      'response.file_search_call.in_progress',
      'response.file_search_call.searching',
      'response.file_search_call.completed',
      'response.output_item.done',
    ]);

    const text = answer(response);
    assert.doesNotMatch(text.text, /【/, 'markers are replaced by annotations');
    assert.match(text.text, /^Tool results: file_search returned 2 passages found/);
    const cited = text.annotations.map((a) => a.file_id);
    assert.equal(cited[0], tides.id, 'the first citation is the first result');
    assert.deepEqual(new Set(cited), new Set(call.results!.map((r) => r.file_id)));
    for (const a of text.annotations) {
      assert.equal(a.type, 'file_citation');
      assert.equal(a.filename, call.results!.find((r) => r.file_id === a.file_id)!.filename);
      assert.ok(a.index! >= 0 && a.index! <= text.text.length);
    }
    // Each citation sits where its marker stood: right before " <filename> (relevance".
    for (const a of text.annotations) assert.ok(text.text.startsWith(` ${a.filename} (relevance`, a.index!), `index ${a.index}`);

    const added = events.filter((e) => e.type === 'response.output_text.annotation.added') as Array<Extract<ResponseStreamEvent, { type: 'response.output_text.annotation.added' }>>;
    assert.deepEqual(added.map((e) => e.annotation_index), text.annotations.map((_, i) => i));
    const doneAt = events.findIndex((e) => e.type === 'response.output_text.done');
    assert.ok(events.indexOf(added.at(-1)!) < doneAt, 'annotations are announced while the text streams');
  });

  test('without include, the call item has no results; non-streaming works too', async () => {
    const response = await client.responses.create({
      model: 'scripted',
      input: '/tool file_search {"queries":["Gutenberg movable type"]}',
      tools: [{ type: 'file_search', vector_store_ids: [store.id] }],
    });
    const [call] = fileSearchCalls(response);
    assert.equal(call.status, 'completed');
    assert.equal(call.results ?? null, null);
    assert.equal(answer(response).annotations[0].file_id, byName.get('printing.docx')!.id);
    assert.deepEqual(await client.responses.retrieve(response.id), response);
  });

  test('a batch uploads and polls through the SDK; attributes apply to every file', async () => {
    const other = await client.vectorStores.create({ name: 'batch' });
    const batch = await client.vectorStores.fileBatches.uploadAndPoll(other.id, {
      files: [await toFile(Buffer.from('Lighthouses guide ships with a rotating beam. '.repeat(60)), 'lighthouse.txt'), await toFile(Buffer.from('# Kites\nKites fly on steady wind.'), 'kites.md')],
    });
    noSchemaErrors('VectorStoreFileBatchObject', batch);
    assert.equal(batch.status, 'completed');
    assert.deepEqual(batch.file_counts, { in_progress: 0, completed: 2, failed: 0, cancelled: 0, total: 2 });
    const files = await client.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: other.id });
    assert.equal(files.data.length, 2);

    // The static strategy: 600 tokens in windows of 100 that overlap by 20 → 8 chunks, re-attached over the first.
    const lighthouse = files.data.find((f) => f.usage_bytes > 1000)!;
    const rechunked = await client.vectorStores.files.createAndPoll(other.id, {
      file_id: lighthouse.id,
      chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 } },
    });
    assert.deepEqual(rechunked.chunking_strategy, { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 20 } });
    assert.ok(rechunked.usage_bytes > lighthouse.usage_bytes, 'overlapping chunks store more text');
    assert.equal((await client.vectorStores.retrieve(other.id)).file_counts.total, 2, 're-attaching replaces');
    const badStrategy = await apiError(
      client.vectorStores.files.create(other.id, { file_id: lighthouse.id, chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 60 } } }),
    );
    assert.equal(badStrategy.status, 400);
    assert.match(badStrategy.message, /half of max_chunk_size_tokens/);

    const tagged = await client.vectorStores.fileBatches.createAndPoll(other.id, { file_ids: [byName.get('chess.md')!.id], attributes: { source: 'batch' } });
    assert.equal(tagged.status, 'completed');
    const chess = await client.vectorStores.files.retrieve(byName.get('chess.md')!.id, { vector_store_id: other.id });
    assert.deepEqual(chess.attributes, { source: 'batch' });

    const deleted = await client.vectorStores.delete(other.id);
    assert.deepEqual(deleted, { id: other.id, object: 'vector_store.deleted', deleted: true });
    assert.equal((await apiError(client.vectorStores.retrieve(other.id))).status, 404);
    // The files themselves stay, and so does the first store's copy of chess.md.
    assert.equal((await client.files.retrieve(byName.get('chess.md')!.id)).id, byName.get('chess.md')!.id);
    assert.equal((await client.vectorStores.files.retrieve(byName.get('chess.md')!.id, { vector_store_id: store.id })).status, 'completed');
  });

  test('update and list vector stores', async () => {
    const updated = await client.vectorStores.update(store.id, { name: 'library v2', expires_after: { anchor: 'last_active_at', days: 7 } });
    assert.equal(updated.name, 'library v2');
    assert.deepEqual(updated.expires_after, { anchor: 'last_active_at', days: 7 });
    assert.equal(updated.expires_at, updated.last_active_at! + 7 * 86400);
    noSchemaErrors('VectorStoreObject', updated);
    const listed = await (await fetch(`${server.url}/v1/vector_stores?limit=1`)).json();
    noSchemaErrors('ListVectorStoresResponse', listed);
    assert.equal(listed.data.length, 1);
  });
});

describe('file_search over a Chat Completions upstream', () => {
  let up: FakeChatUpstream;
  let server: TestServer;
  let file: FileObject;
  let storeId: string;

  before(async () => {
    up = await startFakeChatUpstream({ models: ['up-model'] });
    server = await startTestServer({ PARLEY_UPSTREAM_URL: up.url, PARLEY_UPSTREAM_MODELS: 'up-model' });
    file = await upload(server.client, 'sourdough.md', readFileSync(new URL('sourdough.md', FIXTURES)));
    const store = await server.client.vectorStores.create({ name: 'kitchen', file_ids: [file.id] });
    await settled(server.client, store.id);
    storeId = store.id;
  });

  after(async () => {
    await server?.close();
    await up?.close();
  });

  test('the upstream calls file_search, reads the passages and answers with a citation marker', async () => {
    const marker = `【${file.id}】`;
    up.script(
      { chunks: [chunk.toolCall(0, { id: 'call_fs1', name: 'file_search', arguments: '{"queries":' }), chunk.toolCall(0, { arguments: '["sourdough starter feeding"]}' }), chunk.finish('tool_calls')] },
      // The marker arrives cut into three pieces: Parley holds the text back until it is whole.
      { chunks: [chunk.text('A new starter needs about a week of daily feedings'), chunk.text(marker.slice(0, 4)), chunk.text(marker.slice(4, 15)), chunk.text(`${marker.slice(15)}. Bake it in a Dutch oven.`), chunk.finish('stop')] },
    );
    const { response } = await streamResponse(server.client, {
      model: 'up-model',
      input: 'How long until my starter is ready?',
      tools: [{ type: 'file_search', vector_store_ids: [storeId] }],
    });
    assert.equal(response.status, 'completed');
    const [call] = fileSearchCalls(response);
    assert.deepEqual(call.queries, ['sourdough starter feeding']);
    const text = answer(response);
    assert.equal(text.text, 'A new starter needs about a week of daily feedings. Bake it in a Dutch oven.');
    assert.deepEqual(text.annotations, [{ type: 'file_citation', file_id: file.id, filename: 'sourdough.md', index: 'A new starter needs about a week of daily feedings'.length }]);

    // What the upstream was offered and what it read back.
    assert.equal(up.requests.length, 2);
    const offered = up.requests[0].tools.map((t: any) => t.function.name);
    assert.deepEqual(offered, ['file_search']);
    const toolMessage = up.requests[1].messages.find((m: any) => m.role === 'tool');
    assert.equal(toolMessage.tool_call_id, 'call_fs1');
    assert.match(toolMessage.content, new RegExp(`${marker} sourdough\\.md`));
    assert.match(toolMessage.content, /about a week of daily feedings/);

    // A later turn shows the model the same call and passages.
    up.script({ chunks: [chunk.text('You are welcome.'), chunk.finish('stop')] });
    await server.client.responses.create({ model: 'up-model', previous_response_id: response.id, input: 'Thanks!', tools: [{ type: 'file_search', vector_store_ids: [storeId] }] });
    const history = up.requests[2].messages;
    const assistantCall = history.find((m: any) => m.role === 'assistant' && m.tool_calls);
    assert.equal(assistantCall.tool_calls[0].function.name, 'file_search');
    assert.deepEqual(JSON.parse(assistantCall.tool_calls[0].function.arguments), { queries: ['sourdough starter feeding'] });
    const replayed = history.find((m: any) => m.role === 'tool');
    assert.equal(replayed.content, toolMessage.content);
  });
});

describe('hybrid retrieval with an embeddings upstream', () => {
  let embeddings: FakeEmbeddings;
  let server: TestServer;
  let storeId: string;
  const names = new Map<string, string>();

  before(async () => {
    embeddings = await startFakeEmbeddings();
    server = await startTestServer({ PARLEY_EMBEDDINGS_URL: embeddings.url, PARLEY_EMBEDDINGS_MODEL: 'fake-embed', PARLEY_EMBEDDINGS_API_KEY: 'k' });
    const docs: Record<string, string> = {
      'car.txt': 'Change the engine oil of a car every 10000 km and check the tyre pressure monthly.',
      'cat.txt': 'A cat sleeps up to sixteen hours a day and grooms its fur with a rough tongue.',
      'doctor.txt': 'See a doctor if a fever lasts longer than three days or climbs above 39 degrees.',
    };
    const ids: string[] = [];
    for (const [name, text] of Object.entries(docs)) {
      const f = await upload(server.client, name, text);
      names.set(f.id, name);
      ids.push(f.id);
    }
    const store = await server.client.vectorStores.create({ name: 'hybrid', file_ids: ids });
    storeId = (await settled(server.client, store.id)).id;
  });

  after(async () => {
    await server?.close();
    await embeddings?.close();
  });

  test('chunks are embedded at ingestion; their vectors count in usage_bytes', async () => {
    assert.ok(embeddings.inputs.includes('A cat sleeps up to sixteen hours a day and grooms its fur with a rough tongue.'));
    const files = await server.client.vectorStores.files.list(storeId);
    for (const f of files.data) {
      const text = embeddings.inputs.find((i) => i.startsWith(names.get(f.id) === 'cat.txt' ? 'A cat' : names.get(f.id) === 'car.txt' ? 'Change' : 'See'))!;
      assert.equal(f.usage_bytes, Buffer.byteLength(text) + 256 * 4, `${names.get(f.id)}: text bytes + a 256-dimension float32 vector`);
    }
  });

  test('dense retrieval finds what lexical search cannot; RRF puts a match in both lists first', async () => {
    const synonym = await rawSearch(server, storeId, { query: 'automobile' });
    assert.equal(synonym.status, 200);
    assert.equal(synonym.body.data[0].filename, 'car.txt', 'only the embeddings know that an automobile is a car');
    assert.ok(synonym.body.data[0].score > 0 && synonym.body.data[0].score < 1);
    assert.ok(embeddings.inputs.includes('automobile'), 'the query was embedded');

    const both = await rawSearch(server, storeId, { query: 'feline fur' });
    assert.equal(both.body.data[0].filename, 'cat.txt');
    assert.equal(both.body.data[0].score, 1, 'first in the lexical and the dense ranking');

    const textOnly = await rawSearch(server, storeId, { query: 'automobile', ranking_options: { hybrid_search: { embedding_weight: 0, text_weight: 1 } } });
    assert.equal(textOnly.body.data.filter((d: { score: number }) => d.score > 0).length, 0, 'with no embedding weight nothing matches "automobile"');
  });

  test('the file_search tool searches hybrid too', async () => {
    const { response } = await streamResponse(server.client, {
      model: 'scripted',
      input: '/tool file_search {"queries":["physician"]}',
      tools: [{ type: 'file_search', vector_store_ids: [storeId], max_num_results: 1 }],
      include: ['file_search_call.results'],
    });
    assert.equal(fileSearchCalls(response)[0].results![0].filename, 'doctor.txt');
    assert.equal(answer(response).annotations[0].filename, 'doctor.txt');
  });

  test('a failing embeddings upstream: queries fall back to lexical, ingestion fails clearly', async () => {
    embeddings.failWith(503);
    try {
      const lexical = await rawSearch(server, storeId, { query: 'fever' });
      assert.equal(lexical.status, 200);
      assert.equal(lexical.body.data[0].filename, 'doctor.txt');
      const f = await upload(server.client, 'new.txt', 'Something new to embed.');
      const attached = await server.client.vectorStores.files.createAndPoll(storeId, { file_id: f.id });
      assert.equal(attached.status, 'failed');
      assert.equal(attached.last_error?.code, 'server_error');
      assert.match(attached.last_error!.message, /embeddings upstream answered 503/);
    } finally {
      embeddings.failWith(null);
    }
  });
});

describe('bad input gets clear errors and leaves the store consistent', () => {
  let embeddings: FakeEmbeddings;
  let server: TestServer;
  let client: OpenAI;

  before(async () => {
    embeddings = await startFakeEmbeddings();
    server = await startTestServer({ PARLEY_EMBEDDINGS_URL: embeddings.url, PARLEY_EMBEDDINGS_MODEL: 'fake-embed', PARLEY_MAX_FILE_BYTES: '4096' });
    client = server.client;
  });

  after(async () => {
    await server?.close();
    await embeddings?.close();
  });

  const chunkCount = (fileId: string) => {
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM chunks WHERE file_id = ?').get(fileId) as { n: number }).n;
    } finally {
      db.close();
    }
  };

  test('unknown vector store: 404 from the API and from a response declaring it', async () => {
    const missing = 'vs_00000000000000000000000000000000';
    const retrieve = await apiError(client.vectorStores.retrieve(missing));
    assert.equal(retrieve.status, 404);
    assert.match(retrieve.message, /No vector store found with id 'vs_0+'/);
    assert.equal((await rawSearch(server, missing, { query: 'x' })).status, 404);

    const create = await apiError(
      client.responses.create({ model: 'scripted', input: 'hi', tools: [{ type: 'file_search', vector_store_ids: [missing] }] }),
    );
    assert.equal(create.status, 404);
    assert.equal(create.param, 'tools[0].vector_store_ids');
    const shape = await apiError(client.responses.create({ model: 'scripted', input: 'hi', tools: [{ type: 'file_search', vector_store_ids: [] }] }));
    assert.equal(shape.status, 400);

    const before = (await client.vectorStores.list()).data.length;
    const withUnknownFile = await apiError(client.vectorStores.create({ file_ids: ['file-doesnotexist0000000000'] }));
    assert.equal(withUnknownFile.status, 404);
    assert.match(withUnknownFile.message, /No such File object: file-doesnotexist/);
    assert.equal((await client.vectorStores.list()).data.length, before, 'no vector store was created');
  });

  test('unsupported file type and binary text fail with their codes; the counts say so', async () => {
    const store = await client.vectorStores.create({ name: 'bad files' });
    const exe = await upload(client, 'setup.exe', 'MZ not really a program');
    const failed = await client.vectorStores.files.createAndPoll(store.id, { file_id: exe.id });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.last_error?.code, 'unsupported_file');
    assert.match(failed.last_error!.message, /Files of type 'exe' are not supported/);
    noSchemaErrors('VectorStoreFileObject', failed);

    const binary = await upload(client, 'data.txt', Buffer.from([0x48, 0x69, 0x00, 0x01, 0x02]));
    const invalid = await client.vectorStores.files.createAndPoll(store.id, { file_id: binary.id });
    assert.equal(invalid.last_error?.code, 'invalid_file');

    const blank = await upload(client, 'blank.md', '   \n\n  \t\n');
    const empty = await client.vectorStores.files.createAndPoll(store.id, { file_id: blank.id });
    assert.equal(empty.status, 'failed');
    assert.deepEqual(empty.last_error, { code: 'invalid_file', message: "No text could be extracted from 'blank.md'." });

    const brokenPdf = await upload(client, 'broken.pdf', '%PDF-1.4 this is not a real pdf');
    assert.equal((await client.vectorStores.files.createAndPoll(store.id, { file_id: brokenPdf.id })).last_error?.code, 'invalid_file');

    const counts = (await client.vectorStores.retrieve(store.id)).file_counts;
    assert.deepEqual(counts, { in_progress: 0, completed: 0, failed: 4, cancelled: 0, total: 4 });
    assert.equal((await client.vectorStores.retrieve(store.id)).usage_bytes, 0);
  });

  test('empty and oversized uploads, a missing purpose', async () => {
    const empty = await apiError(client.files.create({ file: await toFile(Buffer.alloc(0), 'empty.txt'), purpose: 'assistants' }));
    assert.equal(empty.status, 400);
    assert.equal(empty.code, 'empty_file');

    const big = await apiError(client.files.create({ file: await toFile(Buffer.alloc(10_000, 'a'), 'big.txt'), purpose: 'assistants' }));
    assert.equal(big.status, 413);
    assert.equal(big.code, 'file_too_large');
    assert.match(big.message, /4096 bytes/);

    const form = new FormData();
    form.append('file', new Blob(['hello']), 'hello.txt');
    const noPurpose = await fetch(`${server.url}/v1/files`, { method: 'POST', body: form });
    assert.equal(noPurpose.status, 400);
    assert.equal(((await noPurpose.json()) as any).error.param, 'purpose');

    const listed = await client.files.list();
    assert.ok(!listed.data.some((f) => ['empty.txt', 'big.txt', 'hello.txt'].includes(f.filename)), 'nothing refused was stored');
    assert.deepEqual(
      readdirSync(join(server.dataDir, 'files')).filter((n) => n.startsWith('.upload-')),
      [],
      'no temporary upload is left behind',
    );
  });

  test('a file deleted during ingestion: it leaves the store, no chunk remains, the next file ingests', async () => {
    const store = await client.vectorStores.create({ name: 'deleting' });
    const doomed = await upload(client, 'doomed.txt', 'This file is deleted while its chunks are being embedded.');
    embeddings.hold();
    const arrived = embeddings.waitForRequest();
    const attached = await client.vectorStores.files.create(store.id, { file_id: doomed.id });
    assert.equal(attached.status, 'in_progress');
    await arrived; // ingestion is waiting on the embeddings upstream
    assert.deepEqual(await client.files.delete(doomed.id), { id: doomed.id, object: 'file', deleted: true });
    embeddings.release();

    const gone = await apiError(client.vectorStores.files.retrieve(doomed.id, { vector_store_id: store.id }));
    assert.equal(gone.status, 404);
    assert.match(gone.message, /No file found with id 'file-\w+' in vector store/);
    assert.equal((await apiError(client.files.retrieve(doomed.id))).status, 404);
    const after = await client.vectorStores.retrieve(store.id);
    assert.deepEqual(after.file_counts, { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 });
    assert.equal(after.usage_bytes, 0);
    assert.equal(after.status, 'completed');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the aborted job has had its chance to write
    assert.equal(chunkCount(doomed.id), 0);

    const next = await upload(client, 'next.txt', 'The store still works after a deletion.');
    assert.equal((await client.vectorStores.files.createAndPoll(store.id, { file_id: next.id })).status, 'completed');
    assert.equal(chunkCount(next.id), 1);
  });

  test('a vector store file detached, and a batch cancelled, during ingestion', async () => {
    const store = await client.vectorStores.create({ name: 'detaching' });
    const a = await upload(client, 'a.txt', 'Alpha file text.');
    const b = await upload(client, 'b.txt', 'Beta file text.');
    embeddings.hold();
    let arrived = embeddings.waitForRequest();
    await client.vectorStores.files.create(store.id, { file_id: a.id });
    await arrived;
    assert.deepEqual(await client.vectorStores.files.delete(a.id, { vector_store_id: store.id }), { id: a.id, object: 'vector_store.file.deleted', deleted: true });
    assert.equal((await client.files.retrieve(a.id)).id, a.id, 'the file itself stays');

    arrived = embeddings.waitForRequest();
    const batch = await client.vectorStores.fileBatches.create(store.id, { file_ids: [a.id, b.id] });
    assert.equal(batch.status, 'in_progress');
    await arrived;
    const cancelled = await client.vectorStores.fileBatches.cancel(batch.id, { vector_store_id: store.id });
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(cancelled.file_counts, { in_progress: 0, completed: 0, failed: 0, cancelled: 2, total: 2 });
    embeddings.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual((await client.vectorStores.retrieve(store.id)).file_counts, { in_progress: 0, completed: 0, failed: 0, cancelled: 2, total: 2 });
    assert.equal(chunkCount(a.id) + chunkCount(b.id), 0);
    assert.deepEqual((await rawSearch(server, store.id, { query: 'file text' })).body.data, []);
  });
});

describe('restarts', () => {
  test('files, stores and chunks survive a restart, and ingestion cut short resumes', async () => {
    const embeddings = await startFakeEmbeddings();
    const env = { PARLEY_EMBEDDINGS_URL: embeddings.url, PARLEY_EMBEDDINGS_MODEL: 'fake-embed' };
    let server = await startTestServer(env);
    try {
      const done = await upload(server.client, 'kept.txt', 'Glaciers carve U-shaped valleys.');
      const store = await server.client.vectorStores.create({ name: 'durable', file_ids: [done.id] });
      await settled(server.client, store.id);
      const cut = await upload(server.client, 'cut.txt', 'Deltas form where rivers slow down and drop sediment.');
      embeddings.hold();
      const arrived = embeddings.waitForRequest();
      await server.client.vectorStores.files.create(store.id, { file_id: cut.id });
      await arrived;
      await server.close(); // mid-ingestion
      embeddings.release();

      server = await startTestServer({ ...env, PARLEY_DATA_DIR: server.dataDir });
      const resumed = await server.client.vectorStores.files.poll(store.id, cut.id);
      assert.equal(resumed.status, 'completed');
      const page = await rawSearch(server, store.id, { query: 'glaciers valleys' });
      assert.equal(page.body.data[0].filename, 'kept.txt');
      assert.equal((await rawSearch(server, store.id, { query: 'river sediment' })).body.data[0].filename, 'cut.txt');
      assert.equal((await server.client.vectorStores.retrieve(store.id)).file_counts.completed, 2);
    } finally {
      await server.close();
      await embeddings.close();
    }
  });
});
