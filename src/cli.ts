#!/usr/bin/env node
import { loadConfig } from './config.js';
import { startServer } from './server.js';

const USAGE = `Usage: parley serve    start the server (configuration from the environment, see README)`;

async function main(argv: string[]) {
  const [command = 'serve'] = argv;
  if (command === 'serve') {
    const server = await startServer(loadConfig());
    const stop = async () => {
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  console.error(USAGE);
  process.exitCode = command === 'help' || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
