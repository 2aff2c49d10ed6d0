// A loopback "web" for web_search tests: the search APIs Parley speaks, over real HTTP, and web pages.
//
//   const web = await startFakeWeb();
//   web.origin                      http://127.0.0.1:<port>
//   web.searxngUrl                  PARLEY_SEARCH_URL for searxng (`GET /searxng/search?format=json`)
//   web.braveUrl                    PARLEY_SEARCH_URL for brave (`GET /brave/res/v1/web/search`, X-Subscription-Token)
//   web.tavilyUrl                   PARLEY_SEARCH_URL for tavily (`POST /tavily/search`, bearer key)
//   web.page(path, page)            serves a page: { html | text, contentType?, status?, redirect? }
//   web.results                     what every search answers (default: each page with a title, matched by query words)
//   web.failSearches(fault)         the next searches answer { status, body } or stall ({ stallMs })
//   web.searches / web.fetches      the search requests and page requests received
//   await web.close()
import type http from 'node:http';
import { readBody, sendJson, startFakeServer, type FakeServer } from './fake-server.js';

export interface FakePage {
  html?: string;
  text?: string;
  title?: string;
  contentType?: string;
  status?: number;
  /** Answer 302 to this URL. */
  redirect?: string;
}

export interface Hit {
  url: string;
  title: string;
  snippet: string;
}

export type SearchFault = { status: number; body?: unknown } | { stallMs: number };

export interface SearchRequest {
  provider: 'searxng' | 'brave' | 'tavily';
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface FakeWeb extends FakeServer {
  origin: string;
  searxngUrl: string;
  braveUrl: string;
  tavilyUrl: string;
  page(path: string, page: FakePage): string;
  results: Hit[] | null;
  failSearches(...faults: SearchFault[]): void;
  searches: SearchRequest[];
  fetches: string[];
}

export async function startFakeWeb(): Promise<FakeWeb> {
  const pages = new Map<string, FakePage>();
  const faults: SearchFault[] = [];
  const searches: SearchRequest[] = [];
  const fetches: string[] = [];
  let origin = '';

  const hitsFor = (query: string): Hit[] => {
    if (web.results) return web.results;
    const words = query.toLowerCase().split(/\W+/).filter(Boolean);
    return [...pages.entries()]
      .filter(([, p]) => p.title && words.some((w) => `${p.title} ${p.html ?? p.text ?? ''}`.toLowerCase().includes(w)))
      .map(([path, p]) => ({ url: `${origin}${path}`, title: p.title!, snippet: `About ${p.title}.` }));
  };

  const server = await startFakeServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const provider = url.pathname === '/searxng/search' ? 'searxng' : url.pathname === '/brave/res/v1/web/search' ? 'brave' : url.pathname === '/tavily/search' ? 'tavily' : null;
    if (provider) {
      const body = req.method === 'POST' ? await readBody(req) : null;
      searches.push({ provider, query: url.searchParams, headers: req.headers, body });
      const fault = faults.shift();
      if (fault && 'stallMs' in fault) await new Promise((resolve) => setTimeout(resolve, fault.stallMs));
      if (res.destroyed) return;
      if (fault && 'status' in fault) return sendJson(res, fault.status, fault.body ?? { error: { message: 'search exploded' } });
      const q = provider === 'tavily' ? String(body?.query ?? '') : (url.searchParams.get('q') ?? '');
      const hits = hitsFor(q);
      if (provider === 'searxng') return sendJson(res, 200, { query: q, number_of_results: hits.length, results: hits.map((h) => ({ url: h.url, title: h.title, content: h.snippet, engine: 'fake' })) });
      if (provider === 'brave') return sendJson(res, 200, { type: 'search', web: { type: 'search', results: hits.map((h) => ({ url: h.url, title: h.title, description: `<strong>${h.snippet}</strong>` })) } });
      return sendJson(res, 200, { query: q, results: hits.map((h, i) => ({ url: h.url, title: h.title, content: h.snippet, score: 1 - i / 10 })) });
    }
    fetches.push(url.pathname);
    const page = pages.get(url.pathname);
    if (!page) return sendJson(res, 404, { error: 'no such page' });
    if (page.redirect) {
      res.writeHead(302, { location: page.redirect });
      return res.end();
    }
    const body = page.html ?? page.text ?? '';
    res.writeHead(page.status ?? 200, { 'content-type': page.contentType ?? (page.html !== undefined ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8') });
    res.end(body);
  });
  origin = server.url.replace(/\/v1$/, '');

  const web: FakeWeb = {
    ...server,
    get closedConnections() {
      return server.closedConnections;
    },
    origin,
    searxngUrl: `${origin}/searxng`,
    braveUrl: `${origin}/brave/res/v1/web/search`,
    tavilyUrl: `${origin}/tavily`,
    page(path, page) {
      pages.set(path, page);
      return `${origin}${path}`;
    },
    results: null,
    failSearches: (...more) => void faults.push(...more),
    searches,
    fetches,
  };
  return web;
}

/** An article page with navigation and scripts around it, as real pages have. */
export function articleHtml(title: string, paragraphs: string[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><script>var tracking = "do not read me";</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<article><h1>${title}</h1>${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}</article>
<footer>Copyright Fake Web</footer></body></html>`;
}
