// Configuration from the environment, plus the optional PARLEY_CONFIG file (src/config-file.ts).
// Variable names are the public contract of DESIGN.md.
import { resolve } from 'node:path';
import { loadConfigFile, PROTOCOLS, type ModelParams } from './config-file.js';

export type UpstreamProtocol = (typeof PROTOCOLS)[number];

export interface UpstreamConfig {
  name: string;
  /** Base URL, e.g. `http://localhost:11434/v1`. */
  url: string;
  protocol: UpstreamProtocol;
  apiKey?: string;
  /** Model ids it serves; absent = whatever clients ask for (the first such upstream only). */
  models?: string[];
  /** Fail the step if the upstream sends nothing for this long. */
  idleTimeoutMs: number;
}

/** A model id clients use, served by an upstream under its own name, with default parameters. */
export interface ModelRoute {
  id: string;
  upstream: string;
  model: string;
  params: ModelParams;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** DATABASE_URL: the PostgreSQL store; unset = SQLite under dataDir. */
  databaseUrl?: string;
  apiKeys: string[];
  /** PARLEY_UPSTREAM_* (named `default`) first, then the config file's. */
  upstreams: UpstreamConfig[];
  routes: ModelRoute[];
  /** Largest accepted request body. */
  maxBodyBytes: number;
  /** SSE comment sent when a stream has been silent this long. */
  keepAliveMs: number;
  /** How long a background response's event log stays readable after it ends. */
  backgroundLogRetainMs: number;
  /** Background responses that run at once; the rest wait as `queued`. */
  backgroundConcurrency: number;
  logLevel: string;
  /** Writes reasoning summaries for back-ends that give raw reasoning only; unset = the same model. */
  summaryModel?: string;
  /** file_search: an OpenAI-compatible /embeddings upstream for dense retrieval (PARLEY_EMBEDDINGS_*); unset = lexical only. */
  embeddings?: EmbeddingsConfig;
  /** Largest accepted upload (POST /v1/files, PARLEY_MAX_FILE_BYTES). */
  maxFileBytes: number;
  /** web_search's back-end (PARLEY_SEARCH_*); unset = live web_search off. */
  search?: SearchConfig;
  /** Each search request and page fetch of web_search must end within this. */
  searchTimeoutMs: number;
  /** image_generation's OpenAI-compatible Images API (PARLEY_IMAGES_*); unset = off. */
  images?: ImagesConfig;
  /** One image generation must end within this. */
  imagesTimeoutMs: number;
  /** code_interpreter: one cell's wall-clock limit (PARLEY_CODE_TIMEOUT_MS), and each container's memory cap (PARLEY_CODE_MEMORY_MB). */
  codeTimeoutMs: number;
  codeMemoryMb: number;
  /** Booted interpreters kept ready per memory cap (PARLEY_CODE_SPARES, 0 … 4). */
  codeSpares: number;
  /** Hosts and networks outbound fetches may reach despite the private-address guard (PARLEY_OUTBOUND_ALLOW). */
  outboundAllow: string[];
  /** mcp: each request to an MCP server (connect, list, call) must answer within this (PARLEY_MCP_TIMEOUT_MS). */
  mcpTimeoutMs: number;
  /** Extra event types sent to every client (PARLEY_STREAM_EVENTS), e.g. `annotation.queued`. */
  streamEvents: string[];
  /** REDIS_URL: the Redis event log, shared by several instances; unset = in memory. */
  redisUrl?: string;
  /** Prefix of Parley's Redis keys and channels (PARLEY_REDIS_PREFIX), e.g. `parley:` → `parley:events:{id}`. */
  redisPrefix: string;
}

export const SEARCH_PROVIDERS = ['searxng', 'brave', 'tavily'] as const;

export interface SearchConfig {
  provider: (typeof SEARCH_PROVIDERS)[number];
  /** The API's URL: required for searxng; brave and tavily default to their public APIs. */
  url?: string;
  apiKey?: string;
}

export interface ImagesConfig {
  /** Base URL of an OpenAI-compatible Images API, e.g. `http://localhost:8000/v1`. */
  url: string;
  model?: string;
  apiKey?: string;
}

const list = (value: string | undefined) =>
  (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

const int = (value: string | undefined, fallback: number) => {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const protocol = env.PARLEY_UPSTREAM_PROTOCOL ?? 'chat-completions';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new Error(`PARLEY_UPSTREAM_PROTOCOL must be ${PROTOCOLS.join(', ')}, not '${protocol}'`);
  }
  const timeout = int(env.PARLEY_UPSTREAM_TIMEOUT_MS, 120_000);
  const models = list(env.PARLEY_UPSTREAM_MODELS);
  const upstreams: UpstreamConfig[] = env.PARLEY_UPSTREAM_URL
    ? [
        {
          name: 'default',
          url: trimSlash(env.PARLEY_UPSTREAM_URL),
          protocol: protocol as UpstreamProtocol,
          apiKey: env.PARLEY_UPSTREAM_API_KEY || undefined,
          models: models.length ? models : undefined,
          idleTimeoutMs: timeout,
        },
      ]
    : [];
  const file = env.PARLEY_CONFIG ? loadConfigFile(env.PARLEY_CONFIG) : null;
  for (const u of file?.upstreams ?? []) {
    upstreams.push({
      name: u.name,
      url: trimSlash(u.url),
      protocol: u.protocol,
      apiKey: u.api_key ?? (u.api_key_env ? env[u.api_key_env] : undefined),
      models: u.models,
      idleTimeoutMs: u.timeout_ms ?? timeout,
    });
  }
  const routes = (file?.models ?? []).map((r) => {
    if (!upstreams.some((u) => u.name === r.upstream)) {
      throw new Error(`PARLEY_CONFIG: model '${r.id}' names upstream '${r.upstream}', which is not configured`);
    }
    return { id: r.id, upstream: r.upstream, model: r.model ?? r.id, params: r.params ?? {} };
  });

  return {
    port: int(env.PORT, 8080),
    host: env.HOST || '127.0.0.1',
    dataDir: resolve(env.PARLEY_DATA_DIR || './.parley'),
    databaseUrl: env.DATABASE_URL || undefined,
    apiKeys: list(env.PARLEY_API_KEYS),
    upstreams,
    routes,
    maxBodyBytes: int(env.PARLEY_MAX_BODY_BYTES, 20 * 1024 * 1024),
    keepAliveMs: int(env.PARLEY_KEEPALIVE_MS, 15_000),
    backgroundLogRetainMs: int(env.PARLEY_BACKGROUND_RETAIN_MS, 3_600_000),
    backgroundConcurrency: Math.max(1, int(env.PARLEY_BACKGROUND_CONCURRENCY, 16)),
    logLevel: env.PARLEY_LOG_LEVEL || 'info',
    summaryModel: env.PARLEY_SUMMARY_MODEL || file?.summary_model || undefined,
    embeddings: embeddingsConfig(env),
    maxFileBytes: int(env.PARLEY_MAX_FILE_BYTES, 512 * 1024 * 1024),
    search: searchConfig(env),
    searchTimeoutMs: int(env.PARLEY_SEARCH_TIMEOUT_MS, 15_000),
    images: env.PARLEY_IMAGES_URL
      ? { url: trimSlash(env.PARLEY_IMAGES_URL), model: env.PARLEY_IMAGES_MODEL || undefined, apiKey: env.PARLEY_IMAGES_API_KEY || undefined }
      : undefined,
    imagesTimeoutMs: int(env.PARLEY_IMAGES_TIMEOUT_MS, 300_000),
    codeTimeoutMs: Math.max(100, int(env.PARLEY_CODE_TIMEOUT_MS, 30_000)),
    codeMemoryMb: Math.min(4096, Math.max(64, int(env.PARLEY_CODE_MEMORY_MB, 512))),
    codeSpares: Math.min(4, Math.max(0, int(env.PARLEY_CODE_SPARES, 1))),
    outboundAllow: list(env.PARLEY_OUTBOUND_ALLOW),
    mcpTimeoutMs: Math.max(100, int(env.PARLEY_MCP_TIMEOUT_MS, 60_000)),
    streamEvents: list(env.PARLEY_STREAM_EVENTS),
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.PARLEY_REDIS_PREFIX || 'parley:',
  };
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** PARLEY_SEARCH_PROVIDER (searxng when only PARLEY_SEARCH_URL is set), checked at start-up. */
function searchConfig(env: NodeJS.ProcessEnv): SearchConfig | undefined {
  const url = env.PARLEY_SEARCH_URL ? trimSlash(env.PARLEY_SEARCH_URL) : undefined;
  const apiKey = env.PARLEY_SEARCH_API_KEY || undefined;
  const provider = env.PARLEY_SEARCH_PROVIDER || (url ? 'searxng' : undefined);
  if (!provider) return undefined;
  if (!(SEARCH_PROVIDERS as readonly string[]).includes(provider)) {
    throw new Error(`PARLEY_SEARCH_PROVIDER must be ${SEARCH_PROVIDERS.join(', ')}, not '${provider}'`);
  }
  if (provider === 'searxng' && !url) throw new Error('PARLEY_SEARCH_URL is required for PARLEY_SEARCH_PROVIDER=searxng (the SearXNG base URL)');
  if (provider !== 'searxng' && !apiKey) throw new Error(`PARLEY_SEARCH_API_KEY is required for PARLEY_SEARCH_PROVIDER=${provider}`);
  return { provider: provider as SearchConfig['provider'], url, apiKey };
}

export interface EmbeddingsConfig {
  /** Base URL; `${url}/embeddings` is called, e.g. `http://localhost:11434/v1`. */
  url: string;
  model: string;
  apiKey?: string;
}

function embeddingsConfig(env: NodeJS.ProcessEnv): EmbeddingsConfig | undefined {
  if (!env.PARLEY_EMBEDDINGS_URL) return undefined;
  if (!env.PARLEY_EMBEDDINGS_MODEL) throw new Error('PARLEY_EMBEDDINGS_URL is set, so PARLEY_EMBEDDINGS_MODEL must name the embeddings model');
  return { url: trimSlash(env.PARLEY_EMBEDDINGS_URL), model: env.PARLEY_EMBEDDINGS_MODEL, apiKey: env.PARLEY_EMBEDDINGS_API_KEY || undefined };
}
