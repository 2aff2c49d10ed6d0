// The search back-end PARLEY_SEARCH_PROVIDER names.
import type { SearchConfig } from '../../../config.js';
import { allowingHosts, type AllowList } from '../../../net/outbound.js';
import { BRAVE_URL, braveProvider } from './brave.js';
import { searxngProvider } from './searxng.js';
import { TAVILY_URL, tavilyProvider } from './tavily.js';
import type { SearchProvider } from './types.js';

export function createSearchProvider(config: SearchConfig, allow: AllowList, timeoutMs: number): SearchProvider {
  const url = config.url ?? (config.provider === 'brave' ? BRAVE_URL : config.provider === 'tavily' ? TAVILY_URL : undefined);
  // The operator chose this endpoint: its host is reachable even on a private network.
  const options = { url: config.url, apiKey: config.apiKey, timeoutMs, allow: url ? allowingHosts(allow, url) : allow };
  switch (config.provider) {
    case 'searxng':
      return searxngProvider(options);
    case 'brave':
      return braveProvider(options);
    case 'tavily':
      return tavilyProvider(options);
  }
}

export type { SearchHit, SearchProvider, SearchQuery, UserLocation } from './types.js';
