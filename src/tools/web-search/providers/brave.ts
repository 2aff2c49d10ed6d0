// Brave Search API (`GET /res/v1/web/search`, key in `X-Subscription-Token`). The location goes
// as `country` and the `X-Loc-*` headers Brave reads.
import { outboundRequest } from '../../../net/outbound.js';
import { httpFailure, MAX_RESPONSE_BYTES, SearchError, siteOperators, type ProviderOptions, type SearchProvider } from './types.js';

export const BRAVE_URL = 'https://api.search.brave.com/res/v1/web/search';

interface BraveAnswer {
  web?: { results?: Array<{ url?: string; title?: string; description?: string }> };
}

export function braveProvider(options: ProviderOptions): SearchProvider {
  const endpoint = options.url ?? BRAVE_URL;
  return {
    name: 'brave',
    async search({ query, count, location, allowedDomains, signal }) {
      const url = new URL(endpoint);
      url.searchParams.set('q', query + siteOperators(allowedDomains));
      url.searchParams.set('count', String(Math.min(20, Math.max(1, count))));
      url.searchParams.set('text_decorations', 'false');
      const headers: Record<string, string> = { accept: 'application/json', 'x-subscription-token': options.apiKey ?? '' };
      if (location?.country) {
        url.searchParams.set('country', location.country.toUpperCase());
        headers['x-loc-country'] = location.country.toUpperCase();
      }
      if (location?.city) headers['x-loc-city'] = location.city;
      if (location?.region) headers['x-loc-state-name'] = location.region;
      if (location?.timezone) headers['x-loc-timezone'] = location.timezone;
      const res = await outboundRequest(url, { allow: options.allow, headers, timeoutMs: options.timeoutMs, maxBytes: MAX_RESPONSE_BYTES, signal });
      const text = await res.text();
      if (res.status !== 200) throw httpFailure('brave', res.status, text);
      let answer: BraveAnswer;
      try {
        answer = JSON.parse(text) as BraveAnswer;
      } catch {
        throw new SearchError('the brave search back-end did not answer JSON');
      }
      return (answer.web?.results ?? [])
        .filter((r) => typeof r.url === 'string')
        .slice(0, count)
        .map((r) => ({ url: r.url!, title: r.title?.trim() || r.url!, snippet: stripTags(r.description ?? '') }));
    },
  };
}

const stripTags = (s: string) => s.replace(/<[^>]*>/g, '').trim();
