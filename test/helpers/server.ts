// Starts a real Parley server on a free loopback port with its own data directory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';

export interface TestServer extends RunningServer {
  /** The official SDK pointed at this server. */
  client: OpenAI;
  dataDir: string;
}

/** `env` uses the same variable names as production (PARLEY_UPSTREAM_URL, PARLEY_API_KEYS, …). */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = env.PARLEY_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'parley-test-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', PARLEY_DATA_DIR: dataDir, ...env });
  const server = await startServer(config, createLogger(process.env.PARLEY_TEST_LOG_LEVEL ?? 'silent'));
  const apiKey = env.PARLEY_API_KEYS?.split(',')[0] ?? 'unused';
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
  return { ...server, client, dataDir };
}

/** Reads a raw SSE body into parsed events (what any client would see on the wire). */
export async function readSse(response: Response): Promise<Array<{ type: string; sequence_number: number; [key: string]: any }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .map((frame) => frame.split('\n').find((line) => line.startsWith('data: ')))
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line.slice(6)));
}
