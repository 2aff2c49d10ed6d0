#!/usr/bin/env node
// The file_search benchmark (issue 6): ingests BENCH_FS_CHUNKS chunks of synthetic text into a
// vector store through the real ingestion path, times lexical search through VectorStores.search
// (FTS5 bm25 + scoring + hydration of the results), then grows the store to
// BENCH_FS_LARGE_CHUNKS chunks and times search again. `npm run bench:file-search` builds Parley
// and runs it; nothing leaves this machine.
//
// Reports, written to bench/reports/file-search.{md,json}:
//   - ingestion chunks/s (and MB/s of text) of the first BENCH_FS_CHUNKS chunks, and of the rest;
//   - what the main thread felt while ingesting: event-loop delay (max and p99, beyond the
//     monitor's own timer period), beside the same measure taken idle just before (the machine's
//     own noise); the main thread's CPU use; and how long one-row writes on the main connection
//     took, in a transaction and outside one, every 10 ms in turn (ingestion's writers hold
//     SQLite's write lock in turns);
//   - lexical search latency p50/p99/max over BENCH_FS_QUERIES queries at both sizes, wall and
//     CPU time (CPU: this process, all threads; wall also counts what other processes took);
//   - the targets: lexical p99 < 20 ms at 100,000 chunks (the issue), and ingestion not blocking
//     the event loop: p99 delay while ingesting < 20 ms.
// No hybrid figures: dense retrieval needs an embeddings upstream, which this benchmark has not.
//
// Knobs (environment):
//   BENCH_FS_CHUNKS=10000          chunks of the first phase (approximately: documents of
//                                  BENCH_FS_DOC_CHUNKS chunks each)
//   BENCH_FS_LARGE_CHUNKS=100000   chunks in all after the second phase (0: no second phase)
//   BENCH_FS_CHUNK_TOKENS=800      static chunking: max_chunk_size_tokens (overlap is half of it)
//   BENCH_FS_DOC_CHUNKS=100        chunks per document (documents ingest two at a time)
//   BENCH_FS_QUERIES=500           timed searches per phase (after 50 warm-up searches)
//   BENCH_FS_MAX_S=1500            watchdog for the whole run
//   BENCH_FS_DIST=dist             the Parley build to run (another build's dist/ to compare)
//   BENCH_FS_REPORT=bench/reports/file-search   where the report goes ('' = nowhere)
//   BENCH_FS_KEEP=1                keep the data directory (its path is printed)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const SMALL_CHUNKS = env('BENCH_FS_CHUNKS', 10_000);
const LARGE_CHUNKS = env('BENCH_FS_LARGE_CHUNKS', 100_000);
const CHUNK_TOKENS = env('BENCH_FS_CHUNK_TOKENS', 800);
const DOC_CHUNKS = env('BENCH_FS_DOC_CHUNKS', 100);
const QUERIES = env('BENCH_FS_QUERIES', 500);
const MAX_S = env('BENCH_FS_MAX_S', 1500);
const REPORT = process.env.BENCH_FS_REPORT ?? 'bench/reports/file-search';
const SEARCH_TARGET_MS = 20;
const STALL_TARGET_MS = 20;
/** monitorEventLoopDelay's timer period: a sample is that period plus the delay. */
const RESOLUTION_MS = 2;

const watchdog = setTimeout(() => {
  console.error(`bench/file-search: watchdog: still running after ${MAX_S} s, giving up`);
  process.exit(2);
}, MAX_S * 1000);
watchdog.unref();

const distDir = resolve(process.env.BENCH_FS_DIST ?? join(ROOT, 'dist'));
const dist = new URL(`file://${distDir}/`);
const { loadConfig } = await import(new URL('config.js', dist));
const { createLogger } = await import(new URL('log.js', dist));
const { openSqliteStore, sqliteDatabase } = await import(new URL('store/sqlite.js', dist));
const { Files } = await import(new URL('files/files.js', dist));
const { VectorStores } = await import(new URL('vector-stores/service.js', dist));
const { countTokens } = await import(new URL('vector-stores/chunk.js', dist));

// Synthetic text: a Zipf-distributed vocabulary (s = 1.07) of 100 English function words then
// 40,000 pronounceable pseudo-words, so that common terms match most chunks and rare ones few.
let seed = 42;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const FUNCTION_WORDS = (
  'the of and to a in is it you that he was for on are with as i his they be at one have this from or had by hot but some what there ' +
  'we can out other were all your when up use word how said an each she which do their time if will way about many then them would ' +
  'write like so these her long make thing see him two has look more day could go come did my no most who over know than call first'
).split(' ');
const SYLLABLES = 'ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu'.split(' ');
const pseudo = new Set();
while (pseudo.size < 40_000) {
  const n = 2 + Math.floor(random() * 3);
  let w = '';
  for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
  pseudo.add(w);
}
const VOCAB = [...FUNCTION_WORDS, ...pseudo];
const cumulative = new Float64Array(VOCAB.length);
let sum = 0;
for (let r = 0; r < VOCAB.length; r++) cumulative[r] = sum += 1 / (r + 1) ** 1.07;
const zipfWord = () => {
  const x = random() * sum;
  let lo = 0;
  let hi = VOCAB.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return VOCAB[lo];
};
function sentence() {
  const n = 8 + Math.floor(random() * 14);
  const words = Array.from({ length: n }, zipfWord);
  return words[0][0].toUpperCase() + words.join(' ').slice(1) + '.';
}
const paragraph = () => Array.from({ length: 4 + Math.floor(random() * 4) }, sentence).join(' ');

// A document is cut into DOC_CHUNKS chunks: it has stride × (DOC_CHUNKS − 1) + CHUNK_TOKENS
// tokens. Characters per token are measured once on 300 paragraphs (tokenizing every document
// here would take longer than ingesting them).
const stride = CHUNK_TOKENS / 2;
const tokensPerDoc = stride * (DOC_CHUNKS - 1) + CHUNK_TOKENS;
const sample = Array.from({ length: 300 }, paragraph);
const charsPerToken = sample.reduce((n, p) => n + p.length + 2, 0) / sample.reduce((n, p) => n + countTokens(p) + 1, 0);
function documentText() {
  const parts = [];
  let chars = 0;
  while (chars < tokensPerDoc * charsPerToken) {
    const p = paragraph();
    parts.push(p);
    chars += p.length + 2;
  }
  return parts.join('\n\n');
}

// Queries: 2–4 mid-frequency words, the way people type keywords.
const queries = Array.from({ length: QUERIES + 50 }, () => {
  const n = 2 + Math.floor(random() * 3);
  return Array.from({ length: n }, () => VOCAB[100 + Math.floor(random() ** 2 * 20_000)]).join(' ');
});

const pctOf = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
const ms = (n, digits = 2) => (Number.isFinite(n) ? +n.toFixed(digits) : null);

/** This thread's CPU time (Linux: /proc/thread-self/schedstat), in ms; NaN elsewhere. */
function threadCpuMs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

const dataDir = mkdtempSync(join(os.tmpdir(), 'parley-bench-fs-'));
const config = loadConfig({ PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'silent' });
const store = openSqliteStore(dataDir);
const db = sqliteDatabase(store);
const files = new Files(db, dataDir);
const vectorStores = new VectorStores({ db, files, config, logger: createLogger('silent') });
const threaded = vectorStores.ingestHost?.threaded === true;
db.exec('CREATE TABLE IF NOT EXISTS bench_probe (k INTEGER PRIMARY KEY, at REAL)');
const probe = db.prepare('INSERT OR REPLACE INTO bench_probe (k, at) VALUES (1, ?)');
const probeWrite = db.transaction((at) => probe.run(at));

function fileBytes(name) {
  try {
    return statSync(join(dataDir, name)).size;
  } catch {
    return 0;
  }
}

async function upload(count) {
  const uploaded = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const text = documentText();
    bytes += Buffer.byteLength(text);
    const path = files.temporaryPath();
    writeFileSync(path, text);
    uploaded.push(await files.add(path, { filename: `doc-${i}.txt`, bytes: Buffer.byteLength(text), purpose: 'assistants' }));
  }
  return { uploaded, bytes };
}

/** What the main thread feels over `run()`: event-loop delay, its CPU use, a write's wait. */
async function observeMainThread(run) {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const writes = [];
  const autocommits = [];
  let tick = 0;
  const probeTimer = setInterval(() => {
    const start = performance.now();
    if (tick++ % 2 === 0) {
      probeWrite(Date.now());
      writes.push(performance.now() - start);
    } else {
      probe.run(Date.now());
      autocommits.push(performance.now() - start);
    }
  }, 10);
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  delay.enable();
  const result = await run();
  delay.disable();
  const wallMs = performance.now() - t0;
  const cpuMs = threadCpuMs() - cpu0;
  clearInterval(probeTimer);
  writes.sort((a, b) => a - b);
  autocommits.sort((a, b) => a - b);
  const stall = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  return {
    result,
    wall_s: ms(wallMs / 1000),
    event_loop_max_stall_ms: ms(stall(delay.max), 1),
    event_loop_p99_stall_ms: ms(stall(delay.percentile(99)), 1),
    event_loop_p50_stall_ms: ms(stall(delay.percentile(50)), 1),
    main_thread_cpu_share: ms(cpuMs / wallMs, 3),
    main_write_p99_ms: ms(pctOf(writes, 99)),
    main_write_max_ms: ms(writes.at(-1)),
    main_autocommit_p99_ms: ms(pctOf(autocommits, 99)),
    main_autocommit_max_ms: ms(autocommits.at(-1)),
    main_writes: writes.length + autocommits.length,
  };
}

async function ingest(label, vsId, uploaded, bytes) {
  const before = db.prepare('SELECT COUNT(*) AS n FROM chunks').get().n;
  const observed = await observeMainThread(async () => {
    const t = performance.now();
    await vectorStores.createBatch(vsId, { files: uploaded.map((f) => ({ file_id: f.id, chunking_strategy: chunkingStrategy })) });
    await vectorStores.idle();
    return (performance.now() - t) / 1000;
  });
  const seconds = observed.result;
  delete observed.result;
  const final = vectorStores.retrieve(vsId);
  if (final.file_counts.in_progress || final.file_counts.failed) throw new Error(`${label}: ingestion left ${JSON.stringify(final.file_counts)}`);
  const chunks = db.prepare('SELECT COUNT(*) AS n FROM chunks').get().n - before;
  return {
    wal_mb: ms(fileBytes('parley.db-wal') / 1e6, 1),
    chunks,
    documents: uploaded.length,
    text_mb: ms(bytes / 1e6, 1),
    ingest_s: ms(seconds),
    ingest_chunks_per_s: Math.round(chunks / seconds),
    ingest_text_mb_per_s: ms(bytes / 1e6 / seconds),
    ...observed,
  };
}

async function searchPhase(vsId) {
  const latencies = [];
  const cpu = [];
  let results = 0;
  for (let i = 0; i < queries.length; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const page = await vectorStores.search(vsId, { query: queries[i], max_num_results: 10 });
    if (i >= 50) {
      const used = process.cpuUsage(cpuStart);
      cpu.push((used.user + used.system) / 1000);
      latencies.push(performance.now() - start);
      results += page.data.length;
    }
  }
  latencies.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    chunks: db.prepare('SELECT COUNT(*) AS n FROM chunks').get().n,
    queries: latencies.length,
    p50_ms: ms(pctOf(latencies, 50)),
    p99_ms: ms(pctOf(latencies, 99)),
    max_ms: ms(latencies.at(-1)),
    cpu_p50_ms: ms(pctOf(cpu, 50)),
    cpu_p99_ms: ms(pctOf(cpu, 99)),
    results_per_query: ms(results / latencies.length, 1),
    load_average: ms(os.loadavg()[0]),
  };
}

const chunkingStrategy = { type: 'static', static: { max_chunk_size_tokens: CHUNK_TOKENS, chunk_overlap_tokens: stride } };
const report = {
  date: new Date().toISOString(),
  commit: (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  })(),
  build: distDir,
  node: process.version,
  cpus: `${os.cpus()[0]?.model.trim() ?? '?'} × ${os.cpus().length}`,
  load_average_start: ms(os.loadavg()[0]),
  chunk_tokens: CHUNK_TOKENS,
  chunks_written_by: threaded ? 'ingestion worker threads' : 'the main thread',
};

try {
  const smallDocs = Math.max(1, Math.round(SMALL_CHUNKS / DOC_CHUNKS));
  const largeDocs = LARGE_CHUNKS > SMALL_CHUNKS ? Math.round((LARGE_CHUNKS - SMALL_CHUNKS) / DOC_CHUNKS) : 0;
  process.stdout.write(`generating ${smallDocs + largeDocs} documents of ~${tokensPerDoc} tokens … `);
  let t = performance.now();
  const small = await upload(smallDocs);
  const large = largeDocs ? await upload(largeDocs) : null;
  console.log(`${((performance.now() - t) / 1000).toFixed(1)} s`);

  // The machine's own noise: the same measures with nothing to do.
  const idle = await observeMainThread(() => new Promise((done) => setTimeout(done, 3000)));
  delete idle.result;
  report.idle = idle;

  const vs = vectorStores.create({ name: 'bench', chunking_strategy: chunkingStrategy });
  console.log(`ingesting ${smallDocs} documents …`);
  report.ingest_small = await ingest('first phase', vs.id, small.uploaded, small.bytes);
  console.log(`searching ${report.ingest_small.chunks} chunks …`);
  report.search_small = await searchPhase(vs.id);
  if (large) {
    console.log(`ingesting ${largeDocs} more documents …`);
    report.ingest_large = await ingest('second phase', vs.id, large.uploaded, large.bytes);
    console.log(`searching ${report.search_small.chunks + report.ingest_large.chunks} chunks …`);
    report.search_large = await searchPhase(vs.id);
  }
  report.usage_bytes = vectorStores.retrieve(vs.id).usage_bytes;
  report.database_mb = ms(fileBytes('parley.db') / 1e6, 1);
  report.wal_mb = ms(fileBytes('parley.db-wal') / 1e6, 1);
  report.load_average_end = ms(os.loadavg()[0]);

  const largest = report.search_large ?? report.search_small;
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  report.targets = {
    search_p99: {
      target: `lexical search p99 < ${SEARCH_TARGET_MS} ms at ${LARGE_CHUNKS.toLocaleString('en')} chunks`,
      measured_at_chunks: largest.chunks,
      value_ms: largest.p99_ms,
      result: largest.chunks >= LARGE_CHUNKS ? verdict(largest.p99_ms < SEARCH_TARGET_MS) : 'NOT RUN',
    },
    ingestion_stall: {
      target: `event-loop delay while ingesting, p99 < ${STALL_TARGET_MS} ms`,
      value_ms: Math.max(report.ingest_small.event_loop_p99_stall_ms, report.ingest_large?.event_loop_p99_stall_ms ?? 0),
    },
  };
  report.targets.ingestion_stall.result = verdict(report.targets.ingestion_stall.value_ms < STALL_TARGET_MS);

  const md = markdown(report);
  console.log(`\n${md}`);
  if (REPORT) {
    const base = resolve(ROOT, REPORT);
    mkdirSync(dirname(base), { recursive: true });
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, md);
    console.log(`report: ${base}.md, ${base}.json`);
  }
} finally {
  await vectorStores.close();
  await store.close();
  if (process.env.BENCH_FS_KEEP) console.log(`kept ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}

function markdown(r) {
  const rows = [];
  const ingestRow = (label, p) =>
    p &&
    rows.push(
      `| ${label} | ${p.chunks.toLocaleString('en')} chunks, ${p.documents} documents, ${p.text_mb} MB | **${p.ingest_chunks_per_s} chunks/s** (${p.ingest_text_mb_per_s} MB/s, ${p.ingest_s} s) | ` +
        `${p.event_loop_max_stall_ms} / ${p.event_loop_p99_stall_ms} / ${p.event_loop_p50_stall_ms} ms | ${(p.main_thread_cpu_share * 100).toFixed(1)} % | ${p.main_write_p99_ms} / ${p.main_write_max_ms} ms | ${p.main_autocommit_p99_ms} / ${p.main_autocommit_max_ms} ms |`,
    );
  const i = r.idle;
  rows.push(
    `| idle (nothing running) | — | — | ${i.event_loop_max_stall_ms} / ${i.event_loop_p99_stall_ms} / ${i.event_loop_p50_stall_ms} ms | ${(i.main_thread_cpu_share * 100).toFixed(1)} % | ` +
      `${i.main_write_p99_ms} / ${i.main_write_max_ms} ms | ${i.main_autocommit_p99_ms} / ${i.main_autocommit_max_ms} ms |`,
  );
  ingestRow('ingestion, first phase', r.ingest_small);
  ingestRow('ingestion, second phase', r.ingest_large);
  const searchRow = (s) =>
    s &&
    `| ${s.chunks.toLocaleString('en')} | **${s.p50_ms}** | **${s.p99_ms}** | ${s.max_ms} | ${s.cpu_p50_ms} / ${s.cpu_p99_ms} | ${s.results_per_query} | ${s.load_average} |`;
  const t = r.targets;
  return `# file_search benchmark (${r.date})

Build ${r.build}${r.commit ? ` (HEAD ${r.commit})` : ''} · Node ${r.node} · ${r.cpus} · load average ${r.load_average_start} at the start, ${r.load_average_end} at the end (the machine is shared: wall times count what other processes took).

Synthetic Zipf text, static chunks of ≤ ${r.chunk_tokens} tokens (half overlapping), documents of ${DOC_CHUNKS} chunks ingested two at a time; chunks written by **${r.chunks_written_by}**.

## Ingestion, and what the main thread felt meanwhile

Event-loop delay: how late a ${RESOLUTION_MS} ms timer fired (max / p99 / p50). Main-thread CPU: share of wall time. Main-thread writes, every 10 ms in turn, p99 / max: a one-row transaction on the main connection (as responses, conversations and files write), and a one-row write outside any transaction (which waits on SQLite's busy handler).

| phase | size | ingestion | event-loop delay | main-thread CPU | write in a transaction | write outside one |
|---|---|---|---|---|---|---|
${rows.join('\n')}

## Lexical search (VectorStores.search, max_num_results 10, ${r.search_small.queries} queries of 2–4 keywords)

| chunks | p50 ms | p99 ms | max ms | CPU p50 / p99 ms | results | load average |
|---|---|---|---|---|---|---|
${[searchRow(r.search_small), searchRow(r.search_large)].filter(Boolean).join('\n')}

Hybrid search: not measured (no embeddings upstream in this benchmark).

## Targets

| target | measured | result |
|---|---|---|
| ${t.search_p99.target} | ${t.search_p99.value_ms} ms at ${t.search_p99.measured_at_chunks.toLocaleString('en')} chunks | **${t.search_p99.result}** |
| ${t.ingestion_stall.target} | ${t.ingestion_stall.value_ms} ms | **${t.ingestion_stall.result}** |

Storage: usage_bytes ${r.usage_bytes}; database file ${r.database_mb} MB, its WAL ${r.wal_mb} MB at the end (${r.ingest_small.wal_mb}${r.ingest_large ? ` and ${r.ingest_large.wal_mb}` : ''} MB when each ingestion phase ended).
`;
}
