// Tavily (`POST /search`, bearer key). Allowed domains go as `include_domains`, the country as
// Tavily's `country` (an English country name, from the ISO code).
import { outboundRequest } from '../../../net/outbound.js';
import { httpFailure, MAX_RESPONSE_BYTES, SearchError, type ProviderOptions, type SearchProvider } from './types.js';

export const TAVILY_URL = 'https://api.tavily.com';

interface TavilyAnswer {
  results?: Array<{ url?: string; title?: string; content?: string }>;
}

const countryNames = new Intl.DisplayNames(['en'], { type: 'region' });

export function tavilyProvider(options: ProviderOptions): SearchProvider {
  const base = options.url ?? TAVILY_URL;
  return {
    name: 'tavily',
    async search({ query, count, location, allowedDomains, signal }) {
      const body: Record<string, unknown> = { query, max_results: Math.min(20, Math.max(1, count)), search_depth: 'basic', topic: 'general' };
      if (allowedDomains.length) body.include_domains = allowedDomains;
      const country = location?.country ? countryName(location.country) : null;
      if (country) body.country = country;
      const res = await outboundRequest(`${base}/search`, {
        allow: options.allow,
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json', authorization: `Bearer ${options.apiKey ?? ''}` },
        body: JSON.stringify(body),
        timeoutMs: options.timeoutMs,
        maxBytes: MAX_RESPONSE_BYTES,
        signal,
      });
      const text = await res.text();
      if (res.status !== 200) throw httpFailure('tavily', res.status, text);
      let answer: TavilyAnswer;
      try {
        answer = JSON.parse(text) as TavilyAnswer;
      } catch {
        throw new SearchError('the tavily search back-end did not answer JSON');
      }
      return (answer.results ?? [])
        .filter((r) => typeof r.url === 'string')
        .slice(0, count)
        .map((r) => ({ url: r.url!, title: r.title?.trim() || r.url!, snippet: r.content?.trim() ?? '' }));
    },
  };
}

function countryName(code: string): string | null {
  try {
    const name = countryNames.of(code.toUpperCase());
    return name && name !== code.toUpperCase() ? name.toLowerCase() : null;
  } catch {
    return null;
  }
}
