// Configuration from the environment. Names are the public contract of DESIGN.md.
import { resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  apiKeys: string[];
  upstream: {
    url: string;
    protocol: 'chat-completions' | 'anthropic' | 'responses';
    apiKey?: string;
    models?: string[];
    /** Fail the step if the upstream sends nothing for this long. */
    idleTimeoutMs: number;
  } | null;
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
  if (protocol !== 'chat-completions' && protocol !== 'anthropic' && protocol !== 'responses') {
    throw new Error(`PARLEY_UPSTREAM_PROTOCOL must be chat-completions, anthropic or responses, not '${protocol}'`);
  }
  const models = list(env.PARLEY_UPSTREAM_MODELS);
  return {
    port: int(env.PORT, 8080),
    host: env.HOST || '127.0.0.1',
    dataDir: resolve(env.PARLEY_DATA_DIR || './.parley'),
    apiKeys: list(env.PARLEY_API_KEYS),
    upstream: env.PARLEY_UPSTREAM_URL
      ? {
          url: env.PARLEY_UPSTREAM_URL.replace(/\/+$/, ''),
          protocol,
          apiKey: env.PARLEY_UPSTREAM_API_KEY || undefined,
          models: models.length ? models : undefined,
          idleTimeoutMs: int(env.PARLEY_UPSTREAM_TIMEOUT_MS, 120_000),
        }
      : null,
    maxBodyBytes: int(env.PARLEY_MAX_BODY_BYTES, 20 * 1024 * 1024),
    keepAliveMs: int(env.PARLEY_KEEPALIVE_MS, 15_000),
    backgroundLogRetainMs: int(env.PARLEY_BACKGROUND_RETAIN_MS, 3_600_000),
    backgroundConcurrency: Math.max(1, int(env.PARLEY_BACKGROUND_CONCURRENCY, 16)),
    logLevel: env.PARLEY_LOG_LEVEL || 'info',
    summaryModel: env.PARLEY_SUMMARY_MODEL || undefined,
  };
}
