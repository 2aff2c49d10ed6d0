#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { startServer } from './server.js';

const USAGE = `Usage:
  parley serve                 start the server (configuration from the environment, see README)
  parley check <base-url>      run the conformance suite against any Responses server
      [--model M]              model to ask (default: scripted)
      [--api-key K]            bearer key (default: $OPENAI_API_KEY, else "unused")
      [--filter S]             only scenarios whose name contains S
      [--json]                 machine-readable results
  Exit code of check: 0 when every scenario passed.`;

async function main(argv: string[]): Promise<number | undefined> {
  const [command = 'serve', ...rest] = argv;
  if (command === 'serve') return serve();
  if (command === 'check') return check(rest);
  console.error(USAGE);
  return command === 'help' || command === '--help' ? 0 : 2;
}

async function serve(): Promise<undefined> {
  const server = await startServer(loadConfig());
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}

const CHECK_OPTIONS = {
  model: { type: 'string' },
  'api-key': { type: 'string' },
  filter: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

async function check(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: CHECK_OPTIONS });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  // Loaded here only: the conformance suite brings the openai SDK, which `serve` does not need.
  const { checkCommand } = await import('./check/command.js');
  return checkCommand({
    baseURL: positionals[0],
    model: values.model,
    apiKey: values['api-key'] || process.env.OPENAI_API_KEY || 'unused',
    filter: values.filter,
    json: values.json,
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
