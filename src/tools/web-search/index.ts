// web_search (`web_search`, `web_search_2025_08_26`, `web_search_preview`,
// `web_search_preview_2025_03_11`): a search back-end chosen by PARLEY_SEARCH_PROVIDER, pages
// fetched through the outbound guard, and a cache of both in the data directory. Cache-only
// declarations (`external_web_access: false`) use the cache alone; with no back-end and an empty
// cache they are accepted and not offered (src/tools/rules.ts).
import type { Config } from '../../config.js';
import { parseAllowList } from '../../net/outbound.js';
import type { ResponseInputItem, StoredItem } from '../../protocol/types.js';
import type { ServerToolKind, ToolServices } from '../types.js';
import { PageCache } from './cache.js';
import { createSearchProvider } from './providers/index.js';
import { FIND_FUNCTION, OPEN_FUNCTION, SEARCH_FUNCTION, WebSearchTool, type WebSearchDeps } from './tool.js';

export const WEB_SEARCH_TOOL_TYPES = ['web_search', 'web_search_2025_08_26', 'web_search_preview', 'web_search_preview_2025_03_11'] as const;

/** Largest page body read. */
const MAX_PAGE_BYTES = 5 * 1024 * 1024;

const NOT_CONFIGURED =
  'no web search back-end is configured: set PARLEY_SEARCH_PROVIDER (searxng, brave or tavily) with PARLEY_SEARCH_URL and/or PARLEY_SEARCH_API_KEY';

/** One set of services per configuration (the cache keeps its database open). */
const servicesByConfig = new WeakMap<Config, Omit<WebSearchDeps, 'logger'>>();

function services(config: Config): Omit<WebSearchDeps, 'logger'> {
  let deps = servicesByConfig.get(config);
  if (!deps) {
    const allow = parseAllowList(config.outboundAllow);
    deps = {
      provider: config.search ? createSearchProvider(config.search, allow, config.searchTimeoutMs) : null,
      cache: new PageCache(config.dataDir),
      allow,
      timeoutMs: config.searchTimeoutMs,
      maxPageBytes: MAX_PAGE_BYTES,
    };
    servicesByConfig.set(config, deps);
  }
  return deps;
}

export const webSearchKind: ServerToolKind = {
  toolTypes: WEB_SEARCH_TOOL_TYPES,
  itemTypes: ['web_search_call'],

  unavailable({ config }: ToolServices, declaration?: Record<string, unknown>) {
    if (config.search) return null;
    const cacheOnly = declaration?.external_web_access === false;
    if (cacheOnly && services(config).cache.hasContent()) return null;
    return cacheOnly ? 'no web search back-end is configured and the page cache is empty' : NOT_CONFIGURED;
  },

  create(declaration, { config, logger }) {
    return new WebSearchTool(declaration, { ...services(config), logger });
  },

  toModelInput(item: StoredItem): ResponseInputItem[] {
    const action = (item.action ?? {}) as { type?: string; query?: string; queries?: string[]; url?: string | null; pattern?: string; sources?: Array<{ url: string }> };
    const callId = item.id;
    let name = SEARCH_FUNCTION;
    let args: Record<string, unknown> = { query: action.query ?? action.queries?.[0] ?? '' };
    if (action.type === 'open_page') [name, args] = [OPEN_FUNCTION, { url: action.url ?? '' }];
    if (action.type === 'find_in_page') [name, args] = [FIND_FUNCTION, { url: action.url ?? '', pattern: action.pattern ?? '' }];
    const sources = action.sources?.length ? ` Sources: ${action.sources.map((s) => s.url).join(', ')}.` : '';
    const output =
      item.status === 'completed'
        ? `Done in an earlier turn; the text it returned is not kept.${sources}`
        : `It did not complete (${String(item.status ?? 'unknown')}).`;
    return [
      { type: 'function_call', call_id: callId, name, arguments: JSON.stringify(args) } as ResponseInputItem,
      { type: 'function_call_output', call_id: callId, output } as ResponseInputItem,
    ];
  },
};
