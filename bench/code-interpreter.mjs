#!/usr/bin/env node
// The code_interpreter benchmark (issue 8): container cold start and warm cell latency of the
// Pyodide sandbox (src/containers/sandbox.ts), from the build in dist/.
// `npm run bench:code-interpreter` builds Parley and runs it; nothing leaves this machine.
//
// Reports:
// - the first container's cold start (compiling pyodide.asm.wasm, booting CPython, taking the
//   memory snapshot later containers start from);
// - later containers created back to back with no spare interpreter (spares off): what creating
//   a container costs by itself, p50/p99/max over BENCH_CI_CONTAINERS, with where a worker's
//   start goes (medians of its steps);
// - later containers created back to back with the spare pool on (PARLEY_CODE_SPARES, default
//   1): each takes the spare that is still starting for the one before;
// - later containers created a while apart (BENCH_CI_GAP_MS): the spare is ready;
// - a trivial cell (`x = 1 + 1`) in a warm container: p50/p99/max over BENCH_CI_CELLS cells.
// Targets: warm < 20 ms; cold start after the first container < 500 ms (judged on the series
// without spares, which is the creation cost itself; p50 and p99 both shown).
// Writes bench/reports/code-interpreter.{json,md}.
//
// Knobs: BENCH_CI_CONTAINERS=20 (containers per series), BENCH_CI_CELLS=200,
//        BENCH_CI_MEMORY_MB=512, BENCH_CI_GAP_MS=2000 (pause before each container of the
//        spare-ready series), BENCH_CI_DIST=dist
//
// The machine is shared: the load average at the start and the end is in the report.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const CONTAINERS = env('BENCH_CI_CONTAINERS', 20);
const CELLS = env('BENCH_CI_CELLS', 200);
const MEMORY_MB = env('BENCH_CI_MEMORY_MB', 512);
const DIST = process.env.BENCH_CI_DIST ?? 'dist';
const GAP_MS = env('BENCH_CI_GAP_MS', 2000);

const sandboxModule = await import(pathToFileURL(join(process.cwd(), DIST, 'containers/sandbox.js')).href);
const { PythonSandbox, setSpareCount, spareCount, stopSpares, onWorkerStart } = sandboxModule;
const SPARES = spareCount();
const limits = { timeoutMs: 30_000, memoryMb: MEMORY_MB };
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (n) => Math.round(n * 10) / 10;
const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: round(pct(sorted, 50)), p99: round(pct(sorted, 99)), max: round(sorted.at(-1)) };
};
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);
const loadAtStart = load();

// Every worker start, with its steps (python-worker.ts marks them).
const starts = [];
onWorkerStart((t) => starts.push(t));

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

const series = async (gapMs) => {
  const times = [];
  for (let i = 0; i < CONTAINERS; i++) {
    if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
    const c = await coldStart();
    times.push(c.start);
    await c.sandbox.close();
  }
  return times;
};

// The first container: no spare yet, and nothing else starting.
setSpareCount(0);
const first = await coldStart();

// No spares: each container starts its own worker from the snapshot.
const startsBefore = starts.length;
const noSpare = await series(0);
const noSpareStarts = starts.slice(startsBefore).filter((t) => t.fromSnapshot);

// The spare pool on: back to back, then a while apart.
setSpareCount(SPARES);
const warmup = await coldStart(); // starts the pool
await warmup.sandbox.close();
const backToBack = await series(0);
const spareReady = await series(GAP_MS);
await stopSpares();

const warm = [];
for (let i = 0; i < 20; i++) await first.sandbox.run('x = 1 + 1');
for (let i = 0; i < CELLS; i++) {
  const t = performance.now();
  await first.sandbox.run('x = 1 + 1');
  warm.push(performance.now() - t);
}
await first.sandbox.close();
onWorkerStart(null);

// Where a start goes: the median of each step (from the previous mark; the first from the spawn).
const STEPS = [
  ['script', 'worker thread up, its script loaded'],
  ['imported', 'pyodide.mjs imported, pyodide.asm.mjs compiled'],
  ['instantiate', 'loadPyodide set up, Emscripten module created'],
  ['instantiated', 'WebAssembly instance (data segments, table)'],
  ['module', 'Emscripten dynamic linking, file system, stdlib zip'],
  ['memory', 'snapshot memory written'],
  ['loaded', 'Pyodide bootstrap (JavaScript state)'],
  ['ready', 'sandbox set-up (blocked modules, runner)'],
];
const steps = STEPS.map(([name, what]) => {
  const durations = noSpareStarts.map((t) => {
    const at = t.marks.findIndex(([n]) => n === name);
    if (at < 0) return 0;
    const previous = at === 0 ? t.spawned : t.marks[at - 1][1];
    return t.marks[at][1] - previous;
  });
  return { step: name, what, p50_ms: round(pct([...durations].sort((a, b) => a - b), 50)) };
});
const codeCacheUsed = noSpareStarts.filter((t) => t.codeCache === 'used').length;

const noSpareStats = stats(noSpare);
const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  load_average: { start: loadAtStart, end: load() },
  memory_mb: MEMORY_MB,
  spares: SPARES,
  first_container_cold_start_ms: round(first.start),
  no_spare_back_to_back_cold_start_ms: noSpareStats,
  no_spare_start_steps_p50: steps,
  no_spare_starts_from_code_cache: `${codeCacheUsed}/${noSpareStarts.length}`,
  spare_pool_back_to_back_cold_start_ms: stats(backToBack),
  spare_ready_cold_start_ms: stats(spareReady),
  warm_cell_ms: stats(warm),
  targets: {
    warm_p99_under_20ms: pct([...warm].sort((a, b) => a - b), 99) < 20,
    cold_start_after_first_p50_under_500ms: noSpareStats.p50 < 500,
    cold_start_after_first_p99_under_500ms: noSpareStats.p99 < 500,
  },
};
const mark = (ok) => (ok ? 'PASS' : 'MISS');
const ms = (s) => `${s.p50} / ${s.p99} / ${s.max} ms`;
const md = [
  `# code_interpreter benchmark (${report.date})`,
  '',
  `Node ${report.node}, ${report.cpus}, memory cap ${MEMORY_MB} MB, spare pool ${SPARES}. Load average (1/5/15 min) ${loadAtStart.join(' / ')} at the start, ${report.load_average.end.join(' / ')} at the end (a shared machine: wall times move with it).`,
  '',
  '| measure | p50 / p99 / max | target | |',
  '|---|---|---|---|',
  `| first container cold start (compiles the wasm, boots CPython, takes the snapshot) | ${report.first_container_cold_start_ms} ms | — | |`,
  `| later container cold start, back to back, **no spare** (the creation cost itself), ${CONTAINERS} containers | ${ms(noSpareStats)} | < 500 ms | p50 ${mark(report.targets.cold_start_after_first_p50_under_500ms)}, p99 ${mark(report.targets.cold_start_after_first_p99_under_500ms)} |`,
  `| later container cold start, back to back, spare pool of ${SPARES} (takes the spare still starting), ${CONTAINERS} containers | ${ms(report.spare_pool_back_to_back_cold_start_ms)} | < 500 ms | |`,
  `| later container cold start, spare ready (${GAP_MS} ms apart), ${CONTAINERS} containers | ${ms(report.spare_ready_cold_start_ms)} | < 500 ms | |`,
  `| warm trivial cell, ${CELLS} cells | ${ms(report.warm_cell_ms)} | < 20 ms | p99 ${mark(report.targets.warm_p99_under_20ms)} |`,
  '',
  `Where a start without a spare goes (median of each step over ${noSpareStarts.length} starts; ${codeCacheUsed} of them from V8's code cache of pyodide.asm.mjs):`,
  '',
  '| step | what | p50 |',
  '|---|---|---|',
  ...steps.map((s) => `| ${s.step} | ${s.what} | ${s.p50_ms} ms |`),
  '',
].join('\n');
writeFileSync('bench/reports/code-interpreter.json', JSON.stringify(report, null, 2) + '\n');
writeFileSync('bench/reports/code-interpreter.md', md);
console.log(md);
