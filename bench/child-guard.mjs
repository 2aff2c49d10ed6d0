// Preloaded into the Parley process the benchmark starts (`node --import ./bench/child-guard.mjs
// dist/cli.js serve`): the child exits when the benchmark that spawned it goes away, even if the
// benchmark was killed with SIGKILL and never got to clean up. It costs nothing per request: one
// IPC channel, unref'd, that only ever fires `disconnect`.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.exit(0));
}
