// SearXNG's JSON API (`GET /search?q=…&format=json`; the instance must list `json` under
// `search.formats`). SearXNG has no location parameter: the location reaches the model instead.
import { outboundRequest } from '../../../net/outbound.js';
import { httpFailure, MAX_RESPONSE_BYTES, SearchError, siteOperators, type ProviderOptions, type SearchProvider } from './types.js';

interface SearxngAnswer {
  results?: Array<{ url?: string; title?: string; content?: string }>;
}

export function searxngProvider(options: ProviderOptions): SearchProvider {
  if (!options.url) throw new Error('searxng needs PARLEY_SEARCH_URL');
  const base = options.url;
  return {
    name: 'searxng',
    async search({ query, count, allowedDomains, signal }) {
      const url = new URL(`${base}/search`);
      url.searchParams.set('q', query + siteOperators(allowedDomains));
      url.searchParams.set('format', 'json');
      url.searchParams.set('safesearch', '1');
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      const res = await outboundRequest(url, { allow: options.allow, headers, timeoutMs: options.timeoutMs, maxBytes: MAX_RESPONSE_BYTES, signal });
      const text = await res.text();
      if (res.status !== 200) throw httpFailure('searxng', res.status, text);
      let answer: SearxngAnswer;
      try {
        answer = JSON.parse(text) as SearxngAnswer;
      } catch {
        throw new SearchError('the searxng search back-end did not answer JSON (is `json` enabled under search.formats?)');
      }
      return (answer.results ?? [])
        .filter((r) => typeof r.url === 'string')
        .slice(0, count)
        .map((r) => ({ url: r.url!, title: r.title?.trim() || r.url!, snippet: r.content?.trim() ?? '' }));
    },
  };
}
