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
    apiKeys: list(env.PARLEY_API_KEYS),
    upstreams,
    routes,
    maxBodyBytes: int(env.PARLEY_MAX_BODY_BYTES, 20 * 1024 * 1024),
    keepAliveMs: int(env.PARLEY_KEEPALIVE_MS, 15_000),
    backgroundLogRetainMs: int(env.PARLEY_BACKGROUND_RETAIN_MS, 3_600_000),
    backgroundConcurrency: Math.max(1, int(env.PARLEY_BACKGROUND_CONCURRENCY, 16)),
    logLevel: env.PARLEY_LOG_LEVEL || 'info',
    summaryModel: env.PARLEY_SUMMARY_MODEL || file?.summary_model || undefined,
  };
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');
