// One declared web_search tool: the functions the model is offered (search, open a page, find in
// a page), the web_search_call item each call becomes, the text the model reads back, and the
// sources its answer may cite (markdown links to them become url_citation annotations).
import type { Logger } from '../../log.js';
import { OutboundError, type AllowList } from '../../net/outbound.js';
import { newId } from '../../protocol/ids.js';
import type { ToolItemWriter } from '../../protocol/writer.js';
import { citationKey, markdownLinkCitations, type CitedPage } from '../citations.js';
import type { FunctionToolDecl } from '../client-tools.js';
import { whenArgumentsComplete, type ServerTool, type ServerToolCall, type ServerToolContext } from '../types.js';
import type { PageCache } from './cache.js';
import { fetchPage, findInText, PageError, type Page } from './page.js';
import type { SearchHit, SearchProvider, UserLocation } from './providers/index.js';
import { SearchError } from './providers/types.js';

export const SEARCH_FUNCTION = 'web_search';
export const OPEN_FUNCTION = 'web_open_page';
export const FIND_FUNCTION = 'web_find_in_page';
export const SOURCES_INCLUDE = 'web_search_call.action.sources';

export interface WebSearchDeps {
  /** Null: no back-end, the tool is cache-only. */
  provider: SearchProvider | null;
  cache: PageCache;
  allow: AllowList;
  timeoutMs: number;
  maxPageBytes: number;
  logger: Logger;
}

type ContextSize = 'low' | 'medium' | 'high';

/** What `search_context_size` changes: results per search, text per result and per page, pages read. */
const CONTEXT: Record<ContextSize, { results: number; snippet: number; pageChars: number; readTop: number; readChars: number }> = {
  low: { results: 3, snippet: 200, pageChars: 4_000, readTop: 0, readChars: 0 },
  medium: { results: 6, snippet: 400, pageChars: 12_000, readTop: 0, readChars: 0 },
  high: { results: 10, snippet: 800, pageChars: 30_000, readTop: 3, readChars: 3_000 },
};

/** A cited page's title is fetched within this (or PARLEY_SEARCH_TIMEOUT_MS, if shorter). */
const TITLE_TIMEOUT_MS = 5_000;

/** A cached page this recent is used by find_in_page instead of fetching it again. */
const FRESH_SECONDS = 3600;

type WebSearchItem = {
  id: string;
  type: 'web_search_call';
  status: 'in_progress' | 'searching' | 'completed' | 'failed';
  action:
    | { type: 'search'; query: string; queries: string[]; sources?: Array<{ type: 'url'; url: string }> }
    | { type: 'open_page'; url: string | null }
    | { type: 'find_in_page'; url: string; pattern: string };
};

export interface WebSearchDeclaration {
  cacheOnly: boolean;
  contextSize: ContextSize;
  location: UserLocation | null;
  allowedDomains: string[];
}

export function parseDeclaration(declaration: Record<string, unknown>): WebSearchDeclaration {
  const size = declaration.search_context_size;
  const location = declaration.user_location as (UserLocation & { type?: string }) | null | undefined;
  const filters = declaration.filters as { allowed_domains?: unknown } | null | undefined;
  const domains = Array.isArray(filters?.allowed_domains) ? (filters.allowed_domains as unknown[]) : [];
  return {
    cacheOnly: declaration.external_web_access === false,
    contextSize: size === 'low' || size === 'high' ? size : 'medium',
    location: location && (location.country || location.region || location.city || location.timezone) ? location : null,
    allowedDomains: domains.filter((d): d is string => typeof d === 'string').map(normalizeDomain).filter(Boolean),
  };
}

function normalizeDomain(domain: string): string {
  return domain
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '')
    .replace(/[/:?#].*$/, '')
    .replace(/^\*?\./, '')
    .replace(/\.$/, '');
}

export class WebSearchTool implements ServerTool {
  readonly functions: FunctionToolDecl[];
  readonly citations;
  private readonly decl: WebSearchDeclaration;
  /** Pages and results seen in this response: what its answer can cite. */
  private readonly sources = new Map<string, CitedPage>();
  /** Pages read in this response, for find_in_page. */
  private readonly pages = new Map<string, Page>();
  /** Sources whose title is not known (citedPage looks it up), and those lookups. */
  private readonly untitled = new Set<string>();
  private readonly titles = new Map<string, Promise<CitedPage>>();

  constructor(
    declaration: Record<string, unknown>,
    private readonly deps: WebSearchDeps,
  ) {
    this.decl = parseDeclaration(declaration);
    if (!deps.provider) this.decl.cacheOnly = true;
    this.functions = this.offer();
    this.citations = markdownLinkCitations((url) => this.citedPage(url));
  }

  begin(name: string, _callId: string, ctx: ServerToolContext): ServerToolCall {
    return whenArgumentsComplete((args) => this.run(name, args, ctx));
  }

  private offer(): FunctionToolDecl[] {
    const { cacheOnly, location, allowedDomains } = this.decl;
    const notes = [
      cacheOnly ? 'Offline: only pages fetched earlier can be found; nothing new is fetched.' : '',
      allowedDomains.length ? `Only these domains (and their subdomains) can be used: ${allowedDomains.join(', ')}.` : '',
      location ? `The user is approximately in ${describeLocation(location)}.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const cite = 'Cite the sources you use as markdown links to their URLs, e.g. [Page title](https://example.com/page).';
    const fn = (name: string, description: string, properties: Record<string, unknown>): FunctionToolDecl => ({
      type: 'function',
      name,
      description: [description, notes].filter(Boolean).join(' '),
      parameters: { type: 'object', properties, required: Object.keys(properties), additionalProperties: false },
      strict: true,
    });
    return [
      fn(SEARCH_FUNCTION, `Search the web. Returns result titles, URLs and snippets. ${cite}`, {
        query: { type: 'string', description: 'What to search for.' },
      }),
      fn(OPEN_FUNCTION, `Open a web page (e.g. a search result) and read its main text. ${cite}`, {
        url: { type: 'string', description: 'The http(s) URL of the page.' },
      }),
      fn(FIND_FUNCTION, 'Find a text in a web page: returns each place it occurs, with the text around it.', {
        url: { type: 'string', description: 'The http(s) URL of the page.' },
        pattern: { type: 'string', description: 'The text to look for (case-insensitive).' },
      }),
    ];
  }

  private async run(name: string, argumentsJson: string, ctx: ServerToolContext): Promise<string> {
    let args: { query?: unknown; url?: unknown; pattern?: unknown };
    try {
      args = JSON.parse(argumentsJson || '{}') as typeof args;
    } catch {
      return `${name} failed: the arguments are not valid JSON.`;
    }
    const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
    switch (name) {
      case SEARCH_FUNCTION: {
        const query = str(args.query);
        if (!query) return `${name} failed: 'query' is required.`;
        return this.item(ctx, { type: 'search', query, queries: [query] }, (item) => this.search(query, item, ctx));
      }
      case OPEN_FUNCTION: {
        const url = httpUrl(str(args.url));
        if (!url) return `${name} failed: 'url' must be an http or https URL.`;
        return this.item(ctx, { type: 'open_page', url }, () => this.open(url, ctx));
      }
      case FIND_FUNCTION: {
        const url = httpUrl(str(args.url));
        const pattern = typeof args.pattern === 'string' ? args.pattern : '';
        if (!url) return `${name} failed: 'url' must be an http or https URL.`;
        if (!pattern.trim()) return `${name} failed: 'pattern' is required.`;
        return this.item(ctx, { type: 'find_in_page', url, pattern }, () => this.find(url, pattern, ctx));
      }
      default:
        return `${name} is not a function of web_search.`;
    }
  }

  /** The web_search_call item around one action: in_progress → searching → completed, or failed. */
  private async item(ctx: ServerToolContext, action: WebSearchItem['action'], work: (item: WebSearchItem) => Promise<string>): Promise<string> {
    const item: WebSearchItem = { id: newId('ws'), type: 'web_search_call', status: 'in_progress', action };
    const writer: ToolItemWriter<WebSearchItem> = ctx.writer.openToolItem(item);
    writer.progress('response.web_search_call.in_progress');
    item.status = 'searching';
    writer.progress('response.web_search_call.searching');
    try {
      const output = await work(item);
      item.status = 'completed';
      writer.progress('response.web_search_call.completed');
      writer.done();
      return output;
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      item.status = 'failed';
      writer.done();
      const reason = this.reason(error);
      const what = action.type === 'search' ? `the search for "${action.query}"` : `${action.type} ${action.url}`;
      return `web_search failed: ${what}: ${reason}.`;
    }
  }

  private reason(error: unknown): string {
    if (error instanceof SearchError || error instanceof OutboundError || error instanceof PageError || error instanceof ToolFailure) {
      return error.message;
    }
    this.deps.logger.warn({ err: error }, 'web_search failed');
    return 'an unexpected error (see the server log)';
  }

  private async search(query: string, item: WebSearchItem, ctx: ServerToolContext): Promise<string> {
    const { cacheOnly, contextSize, location, allowedDomains } = this.decl;
    const size = CONTEXT[contextSize];
    const signal = ctx.signal;
    let hits: SearchHit[];
    if (cacheOnly || !this.deps.provider) {
      hits = this.deps.cache.search(query, size.results * 3);
    } else {
      hits = await this.deps.provider.search({ query, count: size.results * (allowedDomains.length ? 2 : 1), location, allowedDomains, signal });
      this.deps.cache.saveResults(hits);
    }
    hits = hits.filter((hit) => httpUrl(hit.url) && this.domainAllowed(hit.url)).slice(0, size.results);
    for (const hit of hits) this.remember(hit.url, hit.title);
    if (ctx.include.includes(SOURCES_INCLUDE) && item.action.type === 'search') {
      item.action.sources = hits.map((hit) => ({ type: 'url', url: hit.url }));
    }

    const reads = size.readTop ? await this.readTop(hits.slice(0, size.readTop), signal) : new Map<string, string>();
    const lines = [
      `Web search results for "${query}"${cacheOnly ? ' (from the cache of pages fetched earlier)' : ''}:${hits.length === 0 ? ' nothing found.' : ''}`,
    ];
    if (location) lines.push(`The user is approximately in ${describeLocation(location)}.`);
    hits.forEach((hit, i) => {
      lines.push('', `${i + 1}. [${linkLabel(hit.title)}](${hit.url})`);
      if (hit.snippet) lines.push(`   ${clip(hit.snippet.replace(/\s+/g, ' '), size.snippet)}`);
      const read = reads.get(hit.url);
      if (read) lines.push(`   Page text: ${clip(read.replace(/\s+/g, ' '), size.readChars)}`);
    });
    if (hits.length) lines.push('', `Cite the sources you use as markdown links to their URLs, e.g. [${linkLabel(hits[0].title)}](${hits[0].url}).`);
    return lines.join('\n');
  }

  /** search_context_size high: the text of the first results, read in parallel; a page that fails is left out. */
  private async readTop(hits: SearchHit[], signal: AbortSignal): Promise<Map<string, string>> {
    const read = new Map<string, string>();
    await Promise.all(
      hits.map(async (hit) => {
        try {
          const page = await this.page(hit.url, signal, FRESH_SECONDS);
          read.set(hit.url, page.text);
        } catch {
          // the snippet stays
        }
      }),
    );
    return read;
  }

  private async open(url: string, ctx: ServerToolContext): Promise<string> {
    const page = await this.page(url, ctx.signal, 0);
    const size = CONTEXT[this.decl.contextSize];
    const text = page.text.length > size.pageChars ? `${page.text.slice(0, size.pageChars)}\n… (${page.text.length - size.pageChars} more characters; use ${FIND_FUNCTION} to look for something specific)` : page.text;
    return [`Opened [${linkLabel(page.title)}](${page.finalUrl})${this.decl.cacheOnly ? ' (from the cache)' : ''}:`, '', text || '(the page has no readable text)'].join('\n');
  }

  private async find(url: string, pattern: string, ctx: ServerToolContext): Promise<string> {
    const page = await this.page(url, ctx.signal, FRESH_SECONDS);
    const { count, excerpts } = findInText(page.text, pattern);
    if (count === 0) return `"${pattern}" does not occur in [${linkLabel(page.title)}](${page.finalUrl}).`;
    const shown = excerpts.length < count ? ` (the first ${excerpts.length} shown)` : '';
    return [`"${pattern}" occurs ${count} time${count === 1 ? '' : 's'} in [${linkLabel(page.title)}](${page.finalUrl})${shown}:`, ...excerpts.map((e) => `- ${e}`)].join('\n');
  }

  /**
   * A page: read earlier in this response, or cached (cache-only: whatever its age; otherwise
   * only when younger than `maxAgeSeconds`), or fetched now through the outbound guard.
   */
  private async page(url: string, signal: AbortSignal, maxAgeSeconds: number): Promise<Page> {
    if (!this.domainAllowed(url)) {
      throw new ToolFailure(`${new URL(url).hostname} is not one of the allowed domains (${this.decl.allowedDomains.join(', ')})`);
    }
    const key = citationKey(url);
    let page = this.pages.get(key) ?? (this.decl.cacheOnly ? this.deps.cache.getPage(url) : maxAgeSeconds > 0 ? this.deps.cache.getPage(url, maxAgeSeconds) : null);
    if (!page) {
      if (this.decl.cacheOnly) throw new ToolFailure('the page is not in the cache, and this web_search is cache-only (nothing new is fetched)');
      page = await fetchPage(url, { allow: this.deps.allow, timeoutMs: this.deps.timeoutMs, maxBytes: this.deps.maxPageBytes, signal });
      if (!this.domainAllowed(page.finalUrl)) throw new ToolFailure(`the page redirected to ${new URL(page.finalUrl).hostname}, which is not one of the allowed domains`);
      this.deps.cache.savePage(page);
    }
    this.pages.set(key, page);
    this.pages.set(citationKey(page.finalUrl), page);
    this.remember(page.finalUrl, page.title);
    if (page.finalUrl !== url) this.remember(url, page.title);
    return page;
  }

  private remember(url: string, title: string): void {
    const key = citationKey(url);
    // A search result without a title (the back-end gave none: its URL stands in) has its
    // title looked up when it is cited (citedPage), unless a better one is known already.
    if (!title.trim() || title === url) {
      if (!this.sources.has(key)) this.untitled.add(key);
      this.sources.set(key, this.sources.get(key) ?? { url, title: new URL(url).hostname });
      return;
    }
    this.untitled.delete(key);
    this.sources.set(key, { url, title });
  }

  /**
   * What a link in the answer cites: a page this response found, with its title; for a result
   * whose title is not known, a promise of it: from the page cache, else the page fetched through
   * the outbound guard (a short deadline). It rejects (the citation is dropped) when the page
   * cannot be read.
   */
  private citedPage(url: string): CitedPage | Promise<CitedPage> | null {
    const key = citationKey(url);
    const source = this.sources.get(key);
    if (!source) return null;
    if (!this.untitled.has(key)) return source;
    let title = this.titles.get(key);
    if (!title) {
      title = this.fetchTitle(source.url);
      this.titles.set(key, title);
    }
    return title;
  }

  private async fetchTitle(url: string): Promise<CitedPage> {
    const cached = this.deps.cache.getPage(url);
    if (cached) return { url, title: cached.title };
    if (this.decl.cacheOnly) throw new Error(`${url} is not in the page cache, and this web_search is cache-only`);
    const timeoutMs = Math.min(this.deps.timeoutMs, TITLE_TIMEOUT_MS);
    const page = await fetchPage(url, { allow: this.deps.allow, timeoutMs, maxBytes: this.deps.maxPageBytes, signal: AbortSignal.timeout(timeoutMs) });
    this.deps.cache.savePage(page);
    return { url, title: page.title };
  }

  private domainAllowed(url: string): boolean {
    const domains = this.decl.allowedDomains;
    if (domains.length === 0) return true;
    let host: string;
    try {
      host = new URL(url).hostname.toLowerCase();
    } catch {
      return false;
    }
    return domains.some((d) => host === d || host.endsWith(`.${d}`));
  }
}

class ToolFailure extends Error {}

function httpUrl(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function describeLocation(location: UserLocation): string {
  const place = [location.city, location.region, location.country].filter(Boolean).join(', ');
  return [place, location.timezone ? `(time zone ${location.timezone})` : ''].filter(Boolean).join(' ');
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A title as a markdown link label: no brackets or line breaks that would end it early. */
const linkLabel = (title: string) => clip(title.replace(/[[\]\n\r]+/g, ' ').trim(), 150) || 'source';
