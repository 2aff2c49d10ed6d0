// web_search end to end: a loopback search API (SearXNG, Brave and Tavily shapes) and loopback
// web pages, Parley streaming through the official SDK (every stream checked against the
// official schema, the stream rules and the SDK's accumulator), with the scripted model and with
// a loopback Chat Completions upstream that calls the tools.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk, startFakeChatUpstream, textScript, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { articleHtml, startFakeWeb, type FakeWeb } from '../helpers/fake-web.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { streamResponse } from '../helpers/stream.js';

const OTTER_FACT = 'Sea otters hold hands while they sleep so that they do not drift apart on the current.';
const TOOL_FACT = 'They use rocks as tools to crack open shellfish, a habit that is rare among mammals.';

function otterPages(web: FakeWeb) {
  web.page('/otters', { title: 'Sea otters', html: articleHtml('Sea otters', [OTTER_FACT.repeat(3), TOOL_FACT.repeat(3)]) });
  web.page('/kelp', { title: 'Kelp forests', html: articleHtml('Kelp forests', ['Kelp forests shelter otters and urchins alike. '.repeat(6)]) });
  web.page('/notes.txt', { text: 'Plain notes about otters.\nSecond line.' });
  web.page('/report.pdf', { text: '%PDF-1.7', contentType: 'application/pdf' });
}

type WebSearchCall = { type: 'web_search_call'; id: string; status: string; action: Record<string, any> };
type OutputText = { type: 'output_text'; text: string; annotations: Array<Record<string, any>> };

const calls = (response: ApiResponse) => response.output.filter((i) => i.type === 'web_search_call') as unknown as WebSearchCall[];
const answer = (response: ApiResponse) => {
  const message = response.output.find((i) => i.type === 'message') as unknown as { content: OutputText[] } | undefined;
  assert.ok(message, 'the response has a message');
  return message.content[0];
};
const types = (events: ResponseStreamEvent[]) => events.map((e) => e.type);

/** Every url_citation points at a markdown link to its own URL in the text. */
function assertCitations(text: OutputText, expectedUrls?: string[]) {
  if (expectedUrls) assert.deepEqual(text.annotations.map((a) => a.url), expectedUrls);
  assert.ok(text.annotations.length > 0, 'the answer has citations');
  for (const a of text.annotations) {
    assert.equal(a.type, 'url_citation');
    const cited = text.text.slice(a.start_index, a.end_index);
    assert.match(cited, /^\[[^\]]+\]\([^)]+\)$/, `annotation covers a link: ${cited}`);
    assert.ok(cited.includes(`(${a.url}`), `${cited} links to ${a.url}`);
    assert.ok(a.title.length > 0);
  }
}

/** The web_search_call lifecycle for item `id`, in order. */
function lifecycle(events: ResponseStreamEvent[], id: string): string[] {
  return events
    .filter((e) => ('item_id' in e && e.item_id === id) || ('item' in e && (e.item as { id?: string }).id === id))
    .map((e) => e.type);
}

describe('web_search over SearXNG with the scripted model', () => {
  let web: FakeWeb;
  let server: TestServer;
  let dataDir: string;

  before(async () => {
    web = await startFakeWeb();
    otterPages(web);
    dataDir = mkdtempSync(join(tmpdir(), 'parley-web-'));
    server = await startTestServer({
      PARLEY_DATA_DIR: dataDir,
      PARLEY_SEARCH_PROVIDER: 'searxng',
      PARLEY_SEARCH_URL: web.searxngUrl,
      PARLEY_OUTBOUND_ALLOW: '127.0.0.1',
      PARLEY_SEARCH_TIMEOUT_MS: '1000',
    });
  });
  after(async () => {
    await server?.close();
    await web?.close();
  });

  test('search: in_progress → searching → completed, sources when included, url_citation annotations while streaming', async () => {
    const { events, response } = await streamResponse(server.client, {
      model: 'scripted',
      input: '/tool web_search {"query":"sea otters"}',
      tools: [{ type: 'web_search' }],
      include: ['web_search_call.action.sources'],
    });
    assert.equal(response.status, 'completed');
    const [call] = calls(response);
    assert.deepEqual(lifecycle(events, call.id), [
      'response.output_item.added',
      'response.web_search_call.in_progress',
      'response.web_search_call.searching',
      'response.web_search_call.completed',
      'response.output_item.done',
    ]);
    assert.equal(call.status, 'completed');
    assert.equal(call.action.type, 'search');
    assert.equal(call.action.query, 'sea otters');
    assert.deepEqual(call.action.queries, ['sea otters']);
    assert.deepEqual(call.action.sources, [
      { type: 'url', url: `${web.origin}/otters` },
      { type: 'url', url: `${web.origin}/kelp` },
    ]);
    assert.equal(web.searches.at(-1)?.query.get('q'), 'sea otters');
    assert.equal(web.searches.at(-1)?.query.get('format'), 'json');

    // The scripted model reads the results back; the links in them are citations.
    const text = answer(response);
    assert.match(text.text, /^Tool results: web_search returned Web search results for "sea otters":/);
    assertCitations(text, [`${web.origin}/otters`, `${web.origin}/kelp`, `${web.origin}/otters`]);
    assert.deepEqual(text.annotations.map((a) => a.title), ['Sea otters', 'Kelp forests', 'Sea otters']);
    // Announced while the text streams: before output_text.done, each after the delta that ends its link.
    const t = types(events);
    const added = t.flatMap((type, i) => (type === 'response.output_text.annotation.added' ? [i] : []));
    assert.equal(added.length, 3);
    assert.ok(added.every((i) => i < t.indexOf('response.output_text.done')));
    let streamed = '';
    for (const event of events) {
      if (event.type === 'response.output_text.delta') streamed += event.delta;
      if (event.type === 'response.output_text.annotation.added') {
        assert.ok(streamed.length >= (event.annotation as { end_index: number }).end_index, 'the cited text was sent first');
      }
    }
  });

  test('without the include, the action carries no sources', async () => {
    const { response } = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"kelp"}', tools: [{ type: 'web_search_preview' }] });
    const [call] = calls(response);
    assert.equal(call.action.sources, undefined);
    assert.equal(call.status, 'completed');
  });

  test('open_page reads the main text of a loopback page (Readability), not its navigation or scripts', async () => {
    const url = `${web.origin}/otters`;
    const { events, response } = await streamResponse(server.client, {
      model: 'scripted',
      input: `/tool web_open_page ${JSON.stringify({ url })}`,
      tools: [{ type: 'web_search' }],
    });
    const [call] = calls(response);
    assert.deepEqual(call.action, { type: 'open_page', url });
    assert.ok(lifecycle(events, call.id).includes('response.web_search_call.completed'));
    const text = answer(response);
    assert.ok(text.text.includes(OTTER_FACT) && text.text.includes(TOOL_FACT));
    assert.ok(!/do not read me|About us|Copyright Fake Web/.test(text.text), 'navigation, scripts and footer are left out');
    assertCitations(text, [url]);

    const plain = await streamResponse(server.client, { model: 'scripted', input: `/tool web_open_page {"url":"${web.origin}/notes.txt"}`, tools: [{ type: 'web_search' }] });
    assert.ok(answer(plain.response).text.includes('Plain notes about otters.\nSecond line.'));
  });

  test('find_in_page returns each place the pattern occurs', async () => {
    const url = `${web.origin}/otters`;
    const { response } = await streamResponse(server.client, {
      model: 'scripted',
      input: `/tool web_find_in_page ${JSON.stringify({ url, pattern: 'ROCKS' })}`,
      tools: [{ type: 'web_search' }],
    });
    const [call] = calls(response);
    assert.deepEqual(call.action, { type: 'find_in_page', url, pattern: 'ROCKS' });
    assert.match(answer(response).text, /"ROCKS" occurs 3 times in \[Sea otters\]/);
  });

  test('a page of a type that cannot be read fails the call; the response completes', async () => {
    const { response } = await streamResponse(server.client, { model: 'scripted', input: `/tool web_open_page {"url":"${web.origin}/report.pdf"}`, tools: [{ type: 'web_search' }] });
    assert.equal(response.status, 'completed');
    assert.equal(calls(response)[0].status, 'failed');
    assert.match(answer(response).text, /application\/pdf cannot be read/);
  });

  test('SSRF: a page on a private or link-local address is refused with a clear tool error; the response completes', async () => {
    const fetchesBefore = web.fetches.length;
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.7/admin', 'http://[::ffff:192.168.1.1]/', `http://0.0.0.0:${new URL(web.origin).port}/otters`]) {
      const { events, response } = await streamResponse(server.client, { model: 'scripted', input: `/tool web_open_page ${JSON.stringify({ url })}`, tools: [{ type: 'web_search' }] });
      assert.equal(response.status, 'completed', url);
      const [call] = calls(response);
      assert.equal(call.status, 'failed', url);
      assert.ok(!lifecycle(events, call.id).includes('response.web_search_call.completed'));
      assert.match(answer(response).text, /web_search failed: open_page .*is a private, loopback or link-local address; outbound requests there are refused/, url);
    }
    // A redirect from an allowed page to a private address is refused too.
    web.page('/to-metadata', { redirect: 'http://169.254.169.254/latest/meta-data/' });
    const { response } = await streamResponse(server.client, { model: 'scripted', input: `/tool web_open_page {"url":"${web.origin}/to-metadata"}`, tools: [{ type: 'web_search' }] });
    assert.equal(calls(response)[0].status, 'failed');
    assert.match(answer(response).text, /169\.254\.169\.254 is a private/);
    assert.equal(web.fetches.length, fetchesBefore + 1, 'only the allowed page was fetched');
  });

  test('search_context_size: low gives fewer results, high reads the top pages too', async () => {
    web.results = Array.from({ length: 8 }, (_, i) => ({ url: `${web.origin}/otters?r=${i}`, title: `Result ${i}`, snippet: `Snippet ${i}` }));
    try {
      const low = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"otters"}', tools: [{ type: 'web_search', search_context_size: 'low' }], include: ['web_search_call.action.sources'] });
      assert.equal(calls(low.response)[0].action.sources.length, 3);
      const high = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"otters"}', tools: [{ type: 'web_search', search_context_size: 'high' }], include: ['web_search_call.action.sources'] });
      assert.equal(calls(high.response)[0].action.sources.length, 8);
      assert.ok(answer(high.response).text.includes(`Page text: ${OTTER_FACT}`));
      assert.ok(!answer(low.response).text.includes('Page text:'));
    } finally {
      web.results = null;
    }
  });

  test('filters.allowed_domains drops other results and refuses other pages; user_location reaches the model', async () => {
    web.results = [
      { url: 'https://elsewhere.example/otters', title: 'Elsewhere', snippet: 'not allowed' },
      { url: `${web.origin}/otters`, title: 'Sea otters', snippet: 'allowed' },
    ];
    try {
      const tools = [{ type: 'web_search', filters: { allowed_domains: ['127.0.0.1'] }, user_location: { type: 'approximate', city: 'Monterey', country: 'US' } }];
      const { response } = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"otters"}', tools, include: ['web_search_call.action.sources'] });
      assert.deepEqual(calls(response)[0].action.sources, [{ type: 'url', url: `${web.origin}/otters` }]);
      assert.equal(web.searches.at(-1)?.query.get('q'), 'otters site:127.0.0.1');
      assert.match(answer(response).text, /approximately in Monterey, US/);
      const refused = await streamResponse(server.client, { model: 'scripted', input: '/tool web_open_page {"url":"https://elsewhere.example/otters"}', tools });
      assert.equal(calls(refused.response)[0].status, 'failed');
      assert.match(answer(refused.response).text, /elsewhere\.example is not one of the allowed domains/);
    } finally {
      web.results = null;
    }
  });

  test('faults: the search back-end answers 500 or stalls → the call fails, the model is told, the response completes', async () => {
    web.failSearches({ status: 500, body: { error: { message: 'upstream index unavailable' } } });
    const failed = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"otters"}', tools: [{ type: 'web_search' }] });
    assert.equal(failed.response.status, 'completed');
    assert.equal(calls(failed.response)[0].status, 'failed');
    assert.match(answer(failed.response).text, /web_search failed: the search for "otters": the searxng search back-end answered HTTP 500: upstream index unavailable/);

    web.failSearches({ stallMs: 3000 });
    const started = Date.now();
    const stalled = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"otters"}', tools: [{ type: 'web_search' }] });
    assert.ok(Date.now() - started < 2500, 'the search timeout (1000 ms) applies');
    assert.equal(calls(stalled.response)[0].status, 'failed');
    assert.match(answer(stalled.response).text, /no complete answer within 1000 ms/);
  });

  test('cache-only (external_web_access: false) searches and opens cached pages and fetches nothing', async () => {
    // The pages above are in the cache now. A server with no search back-end offers the cache.
    const offline = await startTestServer({ PARLEY_DATA_DIR: dataDir });
    try {
      const searchesBefore = web.searches.length;
      const fetchesBefore = web.fetches.length;
      const tools = [{ type: 'web_search', external_web_access: false }];
      const { response } = await streamResponse(offline.client, { model: 'scripted', input: '/tool web_search {"query":"shellfish"}', tools, include: ['web_search_call.action.sources'] });
      assert.equal(calls(response)[0].status, 'completed');
      const sources = (calls(response)[0].action.sources as Array<{ url: string }>).map((s) => s.url);
      assert.ok(sources.includes(`${web.origin}/otters`), 'the page read earlier is found');
      assert.ok(sources.every((u) => u.startsWith(`${web.origin}/otters`)), 'only pages that mention shellfish');
      assert.match(answer(response).text, /from the cache of pages fetched earlier/);
      assertCitations(answer(response));

      const opened = await streamResponse(offline.client, { model: 'scripted', input: `/tool web_open_page {"url":"${web.origin}/otters"}`, tools });
      assert.ok(answer(opened.response).text.includes(OTTER_FACT));
      const missing = await streamResponse(offline.client, { model: 'scripted', input: `/tool web_open_page {"url":"${web.origin}/never-seen"}`, tools });
      assert.equal(calls(missing.response)[0].status, 'failed');
      assert.match(answer(missing.response).text, /not in the cache, and this web_search is cache-only/);

      // Live web_search still needs a back-end.
      const live = await fetch(`${offline.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'scripted', input: 'hi', tools: [{ type: 'web_search' }] }) });
      assert.equal(live.status, 400);
      assert.match(((await live.json()) as { error: { message: string } }).error.message, /PARLEY_SEARCH_PROVIDER/);

      // With a back-end configured, a cache-only declaration still fetches nothing.
      const cacheOnly = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"kelp"}', tools });
      assert.equal(calls(cacheOnly.response)[0].status, 'completed');
      assert.equal(web.searches.length, searchesBefore);
      assert.equal(web.fetches.length, fetchesBefore);
    } finally {
      await offline.close();
    }
  });
});

describe('web_search over Brave and Tavily', () => {
  let web: FakeWeb;
  before(async () => {
    web = await startFakeWeb();
    otterPages(web);
  });
  after(() => web?.close());

  test('Brave: key header, location headers and country; results become sources', async () => {
    const server = await startTestServer({ PARLEY_SEARCH_PROVIDER: 'brave', PARLEY_SEARCH_URL: web.braveUrl, PARLEY_SEARCH_API_KEY: 'brave-key' });
    try {
      const tools = [{ type: 'web_search', user_location: { type: 'approximate', country: 'us', city: 'Monterey', region: 'California', timezone: 'America/Los_Angeles' } }];
      const { response } = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"sea otters"}', tools, include: ['web_search_call.action.sources'] });
      const search = web.searches.at(-1)!;
      assert.equal(search.provider, 'brave');
      assert.equal(search.headers['x-subscription-token'], 'brave-key');
      assert.equal(search.query.get('country'), 'US');
      assert.equal(search.headers['x-loc-city'], 'Monterey');
      assert.equal(search.headers['x-loc-timezone'], 'America/Los_Angeles');
      assert.equal(calls(response)[0].action.sources.length, 2);
      assert.match(answer(response).text, /About Sea otters\./, 'HTML in Brave descriptions is stripped');
    } finally {
      await server.close();
    }
  });

  test('Tavily: bearer key, include_domains and country in the POST body', async () => {
    const server = await startTestServer({ PARLEY_SEARCH_PROVIDER: 'tavily', PARLEY_SEARCH_URL: web.tavilyUrl, PARLEY_SEARCH_API_KEY: 'tvly-key' });
    try {
      const tools = [{ type: 'web_search', filters: { allowed_domains: ['https://127.0.0.1/'] }, user_location: { type: 'approximate', country: 'GB' } }];
      const { response } = await streamResponse(server.client, { model: 'scripted', input: '/tool web_search {"query":"kelp"}', tools });
      const search = web.searches.at(-1)!;
      assert.equal(search.provider, 'tavily');
      assert.equal(search.headers.authorization, 'Bearer tvly-key');
      assert.equal(search.body.query, 'kelp');
      assert.deepEqual(search.body.include_domains, ['127.0.0.1']);
      assert.equal(search.body.country, 'united kingdom');
      assert.equal(calls(response)[0].status, 'completed');
    } finally {
      await server.close();
    }
  });
});

describe('web_search over a Chat Completions upstream', () => {
  let web: FakeWeb;
  let up: FakeChatUpstream;
  let server: TestServer;
  before(async () => {
    web = await startFakeWeb();
    otterPages(web);
    up = await startFakeChatUpstream({ models: ['fake-model'] });
    server = await startTestServer({
      PARLEY_UPSTREAM_URL: up.url,
      PARLEY_UPSTREAM_MODELS: 'fake-model',
      PARLEY_SEARCH_PROVIDER: 'searxng',
      PARLEY_SEARCH_URL: web.searxngUrl,
      PARLEY_OUTBOUND_ALLOW: '127.0.0.1',
    });
  });
  after(async () => {
    await server?.close();
    await up?.close();
    await web?.close();
  });

  test('the model searches, opens a page, then answers citing it: items, tool results and annotations', async () => {
    const url = `${web.origin}/otters`;
    const cite = `[Sea otters](${url})`;
    up.script(
      { chunks: [chunk.toolCall(0, { id: 'call_s', name: 'web_search', arguments: '{"query":' }), chunk.toolCall(0, { arguments: '"sea otters"}' }), chunk.finish('tool_calls')] },
      { chunks: [chunk.toolCall(0, { id: 'call_o', name: 'web_open_page', arguments: JSON.stringify({ url }) }), chunk.finish('tool_calls')] },
      textScript(`Sea otters hold hands while they sleep ${cite}, and they use rocks as tools ${cite}.`),
    );
    const { events, response } = await streamResponse(server.client, { model: 'fake-model', input: 'Tell me about sea otters, with sources.', tools: [{ type: 'web_search' }] });
    assert.equal(response.status, 'completed');
    assert.deepEqual(response.output.map((i) => i.type), ['web_search_call', 'web_search_call', 'message']);
    const [search, open] = calls(response);
    assert.equal(search.action.query, 'sea otters');
    assert.deepEqual(open.action, { type: 'open_page', url });

    // What the upstream saw: the tools as functions, then each result as a tool message.
    assert.deepEqual(up.requests[0].tools.map((t: { function: { name: string } }) => t.function.name), ['web_search', 'web_open_page', 'web_find_in_page']);
    const toolMessages = (i: number) => up.requests[i].messages.filter((m: { role: string }) => m.role === 'tool');
    assert.match(toolMessages(1)[0].content, /1\. \[Sea otters\]\(http:\/\/127\.0\.0\.1:\d+\/otters\)/);
    assert.ok(toolMessages(2)[1].content.includes(OTTER_FACT));

    const text = answer(response);
    assertCitations(text, [url, url]);
    assert.equal(text.text.slice(text.annotations[0].start_index, text.annotations[0].end_index), cite);
    assert.equal(types(events).filter((t) => t === 'response.output_text.annotation.added').length, 2);
  });

  test('web_search and web_search_preview declared together: the functions are offered once', async () => {
    up.script(textScript('Nothing to search.'));
    const { response } = await streamResponse(server.client, { model: 'fake-model', input: 'hi', tools: [{ type: 'web_search' }, { type: 'web_search_preview' }] });
    assert.equal(response.status, 'completed');
    assert.deepEqual(up.requests.at(-1).tools.map((t: { function: { name: string } }) => t.function.name), ['web_search', 'web_open_page', 'web_find_in_page']);
  });

  test('a later turn (previous_response_id) shows the model the earlier calls', async () => {
    up.script({ chunks: [chunk.toolCall(0, { id: 'call_1', name: 'web_search', arguments: '{"query":"kelp"}' }), chunk.finish('tool_calls')] }, textScript('Kelp it is.'));
    const first = await streamResponse(server.client, { model: 'fake-model', input: 'kelp?', tools: [{ type: 'web_search' }], include: ['web_search_call.action.sources'] });
    up.script(textScript('Done.'));
    const second = await streamResponse(server.client, { model: 'fake-model', previous_response_id: first.response.id, input: 'thanks', tools: [{ type: 'web_search' }] });
    assert.equal(second.response.status, 'completed');
    const messages = up.requests.at(-1).messages as Array<{ role: string; content?: string; tool_calls?: Array<{ function: { name: string; arguments: string } }> }>;
    const call = messages.find((m) => m.tool_calls)?.tool_calls?.[0];
    assert.deepEqual([call?.function.name, JSON.parse(call!.function.arguments)], ['web_search', { query: 'kelp' }]);
    assert.match(messages.find((m) => m.role === 'tool')!.content!, /Sources: http:\/\/127\.0\.0\.1:\d+\/kelp/);
  });
});
