// One interface for every web search back-end (PARLEY_SEARCH_PROVIDER); one file per back-end.
import type { AllowList } from '../../../net/outbound.js';

/** `user_location` of the web_search tool (type `approximate`). */
export interface UserLocation {
  country?: string | null;
  region?: string | null;
  city?: string | null;
  timezone?: string | null;
}

export interface SearchQuery {
  query: string;
  /** How many results are wanted (a back-end may give fewer). */
  count: number;
  location: UserLocation | null;
  /** `filters.allowed_domains`: results outside them are dropped by the caller as well. */
  allowedDomains: readonly string[];
  signal: AbortSignal;
}

export interface SearchHit {
  url: string;
  title: string;
  snippet: string;
}

export interface SearchProvider {
  /** `searxng`, `brave`, `tavily`. */
  readonly name: string;
  /** Rejects with SearchError (or OutboundError) when the back-end fails. */
  search(query: SearchQuery): Promise<SearchHit[]>;
}

export interface ProviderOptions {
  url?: string;
  apiKey?: string;
  timeoutMs: number;
  /** The outbound guard's allow list, plus the back-end's own host (the operator configured it). */
  allow: AllowList;
}

export class SearchError extends Error {
  override name = 'SearchError';
}

/** A back-end's HTTP failure, with the start of what it said. */
export function httpFailure(provider: string, status: number, body: string): SearchError {
  let detail = body.trim();
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const e = json.error as { message?: unknown; detail?: unknown } | string | undefined;
    detail = String((typeof e === 'object' ? e?.message ?? e?.detail : e) ?? json.message ?? json.detail ?? detail);
  } catch {
    // not JSON: keep the text
  }
  return new SearchError(`the ${provider} search back-end answered HTTP ${status}${detail ? `: ${detail.slice(0, 200)}` : ''}`);
}

/** `site:` operators for back-ends whose query language has them. */
export function siteOperators(domains: readonly string[]): string {
  if (domains.length === 0) return '';
  if (domains.length === 1) return ` site:${domains[0]}`;
  return ` (${domains.map((d) => `site:${d}`).join(' OR ')})`;
}

export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
