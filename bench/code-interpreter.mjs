#!/usr/bin/env node
// The code_interpreter benchmark (issue 8): container cold start and warm cell latency of the
// Pyodide sandbox (src/containers/sandbox.ts), from the build in dist/.
// `npm run bench:code-interpreter` builds Parley and runs it; nothing leaves this machine.
//
// Reports: the first container's cold start (compiling pyodide.asm.wasm, booting CPython,
// taking the memory snapshot later containers start from), later containers' cold start (from
// the cached compiled module and snapshot), and the latency of a trivial cell (`x = 1 + 1`) in a
// warm container: p50/p99/max over BENCH_CI_CELLS cells. Targets: warm < 20 ms; cold start after
// the first container < 500 ms. Writes bench/reports/code-interpreter.{json,md}.
//
// Knobs: BENCH_CI_CONTAINERS=5 (cold starts after the first), BENCH_CI_CELLS=200,
//        BENCH_CI_MEMORY_MB=512, BENCH_CI_GAP_MS=2000 (pause before each later container), BENCH_CI_DIST=dist
//
// After the first container, one booted interpreter is kept spare (from the cached compiled
// module and memory snapshot); a new container takes it and another boots in the background.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const CONTAINERS = env('BENCH_CI_CONTAINERS', 5);
const CELLS = env('BENCH_CI_CELLS', 200);
const MEMORY_MB = env('BENCH_CI_MEMORY_MB', 512);
const DIST = process.env.BENCH_CI_DIST ?? 'dist';
const GAP_MS = env('BENCH_CI_GAP_MS', 2000);

const { PythonSandbox } = await import(pathToFileURL(join(process.cwd(), DIST, 'containers/sandbox.js')).href);
const limits = { timeoutMs: 30_000, memoryMb: MEMORY_MB };
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (n) => Math.round(n * 10) / 10;

async function coldStart() {
  const sandbox = new PythonSandbox(limits);
  const t = performance.now();
  await sandbox.warm();
  const start = performance.now() - t;
  const t2 = performance.now();
  const first = await sandbox.run('print(1 + 1)');
  if (first.output !== '2\n') throw new Error(`unexpected output ${JSON.stringify(first.output)}`);
  return { sandbox, start, firstCell: performance.now() - t2 };
}

const first = await coldStart();
// Later containers: with the spare interpreter ready (containers created a while apart), and
// back to back (each one waits for the spare still booting for the one before).
const series = async (gapMs) => {
  const times = [];
  for (let i = 0; i < CONTAINERS; i++) {
    if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
    const c = await coldStart();
    times.push(c.start);
    await c.sandbox.close();
  }
  return times.sort((a, b) => a - b);
};
const later = await series(GAP_MS);
const backToBack = await series(0);

const warm = [];
for (let i = 0; i < 20; i++) await first.sandbox.run('x = 1 + 1');
for (let i = 0; i < CELLS; i++) {
  const t = performance.now();
  await first.sandbox.run('x = 1 + 1');
  warm.push(performance.now() - t);
}
warm.sort((a, b) => a - b);
await first.sandbox.close();

const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memory_mb: MEMORY_MB,
  first_container_cold_start_ms: round(first.start),
  later_container_cold_start_ms: { p50: round(pct(later, 50)), max: round(later.at(-1)) },
  back_to_back_cold_start_ms: { p50: round(pct(backToBack, 50)), max: round(backToBack.at(-1)) },
  warm_cell_ms: { p50: round(pct(warm, 50)), p99: round(pct(warm, 99)), max: round(warm.at(-1)) },
  targets: { warm_p99_under_20ms: pct(warm, 99) < 20, later_cold_start_under_500ms: pct(later, 50) < 500 },
};
const md = [
  `# code_interpreter benchmark (${report.date})`,
  '',
  `Node ${report.node}, ${report.cpus}, memory cap ${MEMORY_MB} MB.`,
  '',
  '| measure | result | target |',
  '|---|---|---|',
  `| first container cold start | ${report.first_container_cold_start_ms} ms | (compiles the wasm, boots CPython, takes the snapshot) |`,
  `| later container cold start (spare ready), p50 / max of ${CONTAINERS} | ${report.later_container_cold_start_ms.p50} / ${report.later_container_cold_start_ms.max} ms | < 500 ms |`,
  `| later container cold start, back to back (spare still booting), p50 / max of ${CONTAINERS} | ${report.back_to_back_cold_start_ms.p50} / ${report.back_to_back_cold_start_ms.max} ms | < 500 ms |`,
  `| warm trivial cell, p50 / p99 / max of ${CELLS} | ${report.warm_cell_ms.p50} / ${report.warm_cell_ms.p99} / ${report.warm_cell_ms.max} ms | < 20 ms |`,
  '',
].join('\n');
writeFileSync('bench/reports/code-interpreter.json', JSON.stringify(report, null, 2) + '\n');
writeFileSync('bench/reports/code-interpreter.md', md);
console.log(md);
