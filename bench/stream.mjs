#!/usr/bin/env node
// The streaming load benchmark (DESIGN.md, "Performance targets"). `npm run bench` builds and
// runs it; the report is printed and written to bench/reports/latest.{md,json}.
//
// Three servers on 127.0.0.1, each a child process: the Chat Completions upstream
// (bench/upstream.mjs, "burst" or "paced" streams of 200 one-word chunks), the floor
// (bench/floor-proxy.mjs, a node:http proxy relaying the upstream's chunks unparsed: what any Node
// relay must spend) and Parley (`node dist/cli.js serve`, temp PARLEY_DATA_DIR). The client is
// this process (node:http, a minimal SSE split). In one run it measures:
//
//   cpu         CPU µs per streamed SSE event of Parley (/proc/<pid>/stat utime+stime around a
//               fixed number of streamed responses ÷ frames counted by the client), burst and
//               paced, beside the floor proxy's and the upstream's CPU per chunk, and a two-point
//               fit of Parley's fixed cost per response vs its marginal cost per event
//   throughput  streamed responses/s at concurrency 50 (burst): direct, floor, through Parley
//   ttfb        time to first byte and to the first text delta, p50/p99, at concurrency 1 and
//               100 (paced): direct, floor, through Parley
//   memory      Parley's RSS per open stream: N streams held open against an upstream that stalls
//               after its first chunk, on a freshly started Parley
//
// Only 127.0.0.1 is contacted. Every child is killed when this process exits, fails or is
// interrupted, and exits by itself if this process dies without cleaning up (IPC disconnect).
// Every phase is bounded in requests and in time, and a watchdog ends the whole run.
//
// Knobs (environment):
//   BENCH_SCALE=1              multiplies every request count (0.1 for a smoke run, 5 for a long one)
//   BENCH_PHASES=cpu,throughput,ttfb,memory   which phases to run
//   BENCH_TOKENS=200           content chunks per upstream stream
//   BENCH_CPU_N=2000 BENCH_CPU_CONCURRENCY=20                   burst CPU run
//   BENCH_PACED_N=400                                            paced CPU run (concurrency 20)
//   BENCH_THROUGHPUT_N=2000 BENCH_THROUGHPUT_DIRECT_N=6000 BENCH_THROUGHPUT_CONCURRENCY=50
//                              (direct is ~6× faster; more streams keep its run a few seconds long)
//   BENCH_TTFB1_N=200          sequential streams per path at concurrency 1 (its own limit:
//                              3 × BENCH_PHASE_MAX_S)
//   BENCH_TTFB100_N=500        streams per path at concurrency 100
//   BENCH_TTFB_STEADY_N=500    streams per path at concurrency 100 at 50 tokens/s (steady-50)
//   BENCH_OPEN_STREAMS=2000    streams held open in the memory phase (up to 10,000; clamped to
//                              what RLIMIT_NOFILE allows: Parley needs two sockets per stream)
//   BENCH_WARMUP=3000          burst warm-up streams per path before measuring: V8 is still
//                              optimising Parley's hot paths after a few hundred (a first
//                              2,000 cost ~40% more CPU than the third), and the phases
//                              measure a server in its steady state
//   BENCH_WARMUP_PACED=60      paced warm-up streams per path
//   BENCH_PHASE_MAX_S=60       a phase stops issuing requests after this long (reported)
//   BENCH_MAX_S=420            watchdog for the whole run
//   BENCH_PARLEY_CLI=dist/cli.js    the Parley build to run (for A/B comparisons of builds)
//   BENCH_PARLEY_BODY='{"store":false}'   fields merged into every Responses request
//   BENCH_PARLEY_NODE_ARGS     extra node flags for Parley, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
//   BENCH_REPORT_DIR=bench/reports   BENCH_REPORT_NAME=latest   → latest.json, latest.md
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Configuration

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const SCALE = num('BENCH_SCALE', 1);
const count = (name, fallback, min = 1) => Math.max(min, Math.round(num(name, fallback) * SCALE));
const PHASES = new Set((process.env.BENCH_PHASES || 'cpu,throughput,ttfb,memory').split(',').map((s) => s.trim()));
const TOKENS = Math.round(num('BENCH_TOKENS', 200));
/** Tokens of the steady streams (bench/upstream.mjs: one chunk per 20 ms): a second each. */
const STEADY_TOKENS = 50;
const STEADY_INTERVAL_MS = 20;
/** The short streams of the fixed-vs-marginal fit (skipped when they would not be much shorter). */
const SHORT_TOKENS = Math.min(20, Math.floor(TOKENS / 5));
const CFG = {
  scale: SCALE,
  tokens: TOKENS,
  cpuN: count('BENCH_CPU_N', 2000, 20),
  cpuConcurrency: Math.round(num('BENCH_CPU_CONCURRENCY', 20)),
  pacedN: count('BENCH_PACED_N', 400, 20),
  pacedConcurrency: 20,
  throughputN: count('BENCH_THROUGHPUT_N', 2000, 50),
  throughputDirectN: count('BENCH_THROUGHPUT_DIRECT_N', 6000, 50),
  throughputConcurrency: Math.round(num('BENCH_THROUGHPUT_CONCURRENCY', 50)),
  ttfb1N: count('BENCH_TTFB1_N', 200, 5),
  ttfb100N: count('BENCH_TTFB100_N', 500, 100),
  ttfbSteadyN: count('BENCH_TTFB_STEADY_N', 500, 100),
  ttfbConcurrency: 100,
  openStreams: Math.min(10_000, Math.round(num('BENCH_OPEN_STREAMS', 2000))),
  warmup: count('BENCH_WARMUP', 3000, 20),
  warmupPaced: count('BENCH_WARMUP_PACED', 60, 5),
  phaseMaxS: num('BENCH_PHASE_MAX_S', 60),
  maxS: num('BENCH_MAX_S', 420),
  requestTimeoutMs: 60_000,
};
const MODEL = {
  burst: `burst-${TOKENS}`,
  burstShort: `burst-${SHORT_TOKENS}`,
  paced: `paced-${TOKENS}`,
  steady: `steady-${STEADY_TOKENS}`,
  stall: `stall-${TOKENS}`,
};
const TARGETS = {
  cpuIssueUs: 50,
  cpuBurstUs: 8,
  cpuPacedUs: 15,
  addedFirstTokenP99Ms: 2,
  perStreamKB: 200,
  tenKStreamsGiB: 2,
};
/** The Parley entry point: another build (e.g. a baseline checkout's dist/cli.js) for A/B runs. */
const PARLEY_CLI = path.resolve(ROOT, process.env.BENCH_PARLEY_CLI || 'dist/cli.js');
/** Fields merged into every Responses request body, e.g. {"store":false}. */
const PARLEY_BODY = process.env.BENCH_PARLEY_BODY ? JSON.parse(process.env.BENCH_PARLEY_BODY) : {};
/** Extra node flags for the Parley process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it. */
const PARLEY_NODE_ARGS = (process.env.BENCH_PARLEY_NODE_ARGS || '').split(/\s+/).filter(Boolean);
const REPORT_DIR = path.resolve(ROOT, process.env.BENCH_REPORT_DIR || 'bench/reports');
const REPORT_NAME = process.env.BENCH_REPORT_NAME || 'latest';

// ---------------------------------------------------------------------------------------------
// Child processes: always killed on the way out

const children = new Set();
let finishing = false;
let tempDir = null;

function removeTempDir() {
  if (!tempDir) return;
  try {
    fs.rmSync(tempDir, { recursive: true, force: true });
  } catch {
    // best effort
  }
  tempDir = null;
}

function killChildren() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

function die(message, code = 1) {
  if (finishing) return;
  finishing = true;
  killChildren();
  removeTempDir();
  console.error(`\nbench: ${message}`);
  process.exit(code);
}

process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => die(`interrupted (${signal})`, 130));
process.on('uncaughtException', (error) => die(`failed: ${error?.stack ?? error}`));
process.on('unhandledRejection', (error) => die(`failed: ${error?.stack ?? error}`));
setTimeout(() => die(`the run exceeded BENCH_MAX_S=${CFG.maxS}s and was stopped`), CFG.maxS * 1000).unref();

function spawnChild(name, args, env) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.name = name;
  child.stopping = false;
  child.stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    child.stderrTail = (child.stderrTail + text).slice(-4000);
  });
  child.stdout.setEncoding('utf8');
  child.stdoutText = '';
  child.stdout.on('data', (text) => {
    if (child.stdoutText.length < 4000) child.stdoutText += text;
  });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!child.stopping && !finishing) {
      die(`${name} exited unexpectedly (code ${code}, signal ${signal})\n${child.stderrTail || child.stdoutText}`);
    }
  });
  child.on('error', (error) => die(`${name} could not start: ${error.message}`));
  child.channel?.unref();
  return child;
}

async function stopChild(child) {
  if (!children.has(child)) return;
  child.stopping = true;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function childEnv(extra) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('PARLEY_') || key === 'DATABASE_URL' || key === 'REDIS_URL' || key === 'PORT' || key === 'HOST') delete env[key];
  }
  return { ...env, ...extra };
}

/** Starts one of the bench's own servers, which print {"port": N} on their first stdout line. */
async function startScript(name, file, env) {
  const child = spawnChild(name, [path.join(HERE, file)], childEnv(env));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report its port within 10 s`)), 10_000);
    const onData = () => {
      if (!child.stdoutText.includes('\n')) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(JSON.parse(child.stdoutText.split('\n')[0]).port);
    };
    child.stdout.on('data', onData);
  });
  return { child, pid: child.pid, port };
}

async function startParley(upstreamPort, dataDir) {
  const port = await freePort();
  const models = [...new Set(Object.values(MODEL))].join(',');
  const child = spawnChild(
    'parley',
    [...PARLEY_NODE_ARGS, '--import', pathToFileURL(path.join(HERE, 'child-guard.mjs')).href, PARLEY_CLI, 'serve'],
    childEnv({
      PORT: String(port),
      HOST,
      PARLEY_DATA_DIR: dataDir,
      PARLEY_UPSTREAM_URL: `http://${HOST}:${upstreamPort}/v1`,
      PARLEY_UPSTREAM_MODELS: models,
      PARLEY_UPSTREAM_TIMEOUT_MS: '600000',
      PARLEY_LOG_LEVEL: 'warn',
    }),
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await getJson(port, '/health').then((r) => r.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`parley did not answer /health within 20 s\n${child.stderrTail}`);
    await sleep(50);
  }
  return { child, pid: child.pid, port };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds of a process (all threads): [user, system]. */
function cpuTimes(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return [Number(fields[11]) / CLK_TCK, Number(fields[12]) / CLK_TCK]; // fields 14 and 15
}

/** read- and write-family system calls of a process so far (sockets, files, pipes). */
function ioCalls(pid) {
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return [NaN, NaN]; // not readable here
  }
  return [Number(/^syscr: (\d+)/m.exec(text)?.[1]), Number(/^syscw: (\d+)/m.exec(text)?.[1])];
}

function procStatusKB(pid, key) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

function openFileLimit(pid) {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// The client: node:http and a minimal SSE split

const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
const oneShotAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const CHAT_PATH = '/v1/chat/completions';
const RESPONSES_PATH = '/v1/responses';
const bodyCache = new Map();
function requestBody(kind, model) {
  const key = `${kind}\0${model}`;
  let body = bodyCache.get(key);
  if (!body) {
    body =
      kind === 'direct'
        ? JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
        : JSON.stringify({ model, input: 'hi', stream: true, ...PARLEY_BODY });
    bodyCache.set(key, body);
  }
  return body;
}

const EV_DELTA = 'event: response.output_text.delta\n';
const EV_COMPLETED = 'event: response.completed\n';
const TERMINAL_PREFIXES = ['event: response.failed\n', 'event: response.incomplete\n', 'event: error\n'];
const DIRECT_DONE = 'data: [DONE]';
const CONTENT = '"content":"';

/**
 * One streamed request. kind 'direct' speaks Chat Completions to the upstream, 'parley' speaks
 * Responses to Parley. Frames are counted by their blank-line ends (SSE comments excluded); only
 * frame starts are inspected, to find the first text delta and the terminal frame.
 * `onFirstToken(req)` is called once at the first text delta.
 */
function streamOnce({ kind, port, model, agent, onFirstToken, retry = true }) {
  const body = requestBody(kind, model);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const result = { ok: false, status: 0, firstByteMs: -1, firstTokenMs: -1, totalMs: -1, frames: 0, terminal: null, error: null };
    let buf = '';
    let settled = false;
    const settle = (error) => {
      if (settled) return;
      settled = true;
      result.totalMs = performance.now() - t0;
      if (error) result.error = error;
      else result.ok = result.status === 200 && result.terminal === 'completed';
      resolve(result);
    };
    const req = http.request({
      host: HOST,
      port,
      path: kind === 'direct' ? CHAT_PATH : RESPONSES_PATH,
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept: 'text/event-stream' },
    });
    req.setTimeout(CFG.requestTimeoutMs, () => req.destroy(new Error(`no data for ${CFG.requestTimeoutMs} ms`)));
    req.on('error', (error) => {
      if (settled) return;
      // A keep-alive socket the server closed while idle: the request never reached it.
      if (retry && req.reusedSocket && result.status === 0 && error.code === 'ECONNRESET') {
        settled = true;
        streamOnce({ kind, port, model, agent, onFirstToken, retry: false }).then((r) => {
          r.retried = true;
          resolve(r);
        });
        return;
      }
      settle(error.message || String(error));
    });
    req.on('response', (res) => {
      result.status = res.statusCode;
      result.firstByteMs = performance.now() - t0;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf = buf.length === 0 ? chunk : buf + chunk;
        let start = 0;
        let end;
        while ((end = buf.indexOf('\n\n', start)) !== -1) {
          if (buf.charCodeAt(start) !== 58 /* ':' comment */) {
            result.frames++;
            if (kind === 'parley') {
              if (result.firstTokenMs < 0 && buf.startsWith(EV_DELTA, start)) {
                result.firstTokenMs = performance.now() - t0;
                onFirstToken?.(req);
              } else if (buf.startsWith(EV_COMPLETED, start)) {
                result.terminal = 'completed';
              } else if (buf.charCodeAt(start + 16) !== 111 /* 'o' of output_* */) {
                for (const prefix of TERMINAL_PREFIXES) {
                  if (buf.startsWith(prefix, start)) {
                    result.terminal = prefix.slice(7, -1);
                    result.error = buf.slice(start, Math.min(end, start + 400));
                  }
                }
              }
            } else if (result.firstTokenMs < 0) {
              const at = buf.indexOf(CONTENT, start);
              if (at !== -1 && at < end && buf.charCodeAt(at + CONTENT.length) !== 34 /* '"' */) {
                result.firstTokenMs = performance.now() - t0;
                onFirstToken?.(req);
              }
            } else if (end - start === DIRECT_DONE.length && buf.startsWith(DIRECT_DONE, start)) {
              result.terminal = 'completed';
            }
          }
          start = end + 2;
        }
        if (start > 0) buf = start === buf.length ? '' : buf.slice(start);
        if (res.statusCode !== 200 && buf.length < 2000) result.error = buf;
      });
      res.on('end', () => settle(null));
      res.on('error', (error) => settle(error.message));
      res.on('aborted', () => settle('aborted'));
    });
    req.end(body);
  });
}

function getJson(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: urlPath, agent: oneShotAgent, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode, body: text });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * `n` streamed requests with `concurrency` in flight; the CPU time of `pids` is read right before
 * the first and right after the last.
 */
/**
 * `n` streams, `concurrency` at a time. `staggerMs`: worker i starts i × staggerMs late, so that
 * streams of equal length keep arriving spread out instead of in waves of `concurrency`.
 */
async function load({ kind, port, model, n, concurrency, pids = {}, agent = keepAliveAgent, staggerMs = 0 }) {
  const results = [];
  let issued = 0;
  let truncated = false;
  const deadline = performance.now() + CFG.phaseMaxS * 1000;
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuTimes(pid)]));
  const ioBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, ioCalls(pid)]));
  const clientBefore = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (_, i) => {
    if (staggerMs > 0) await new Promise((resolve) => setTimeout(resolve, i * staggerMs));
    while (issued < n) {
      if (performance.now() > deadline) {
        truncated = true;
        return;
      }
      issued++;
      results.push(await streamOnce({ kind, port, model, agent }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const wallS = (performance.now() - t0) / 1000;
  const cpu = {};
  const cpuSys = {};
  const io = {};
  for (const [name, pid] of Object.entries(pids)) {
    const [user, sys] = cpuTimes(pid);
    cpu[name] = user - cpuBefore[name][0] + (sys - cpuBefore[name][1]);
    cpuSys[name] = sys - cpuBefore[name][1];
    const [reads, writes] = ioCalls(pid);
    io[name] = { reads: reads - ioBefore[name][0], writes: writes - ioBefore[name][1] };
  }
  const clientUsage = process.cpuUsage(clientBefore);
  cpu.client = (clientUsage.user + clientUsage.system) / 1e6;
  const ok = results.filter((r) => r.ok);
  const frames = ok.reduce((sum, r) => sum + r.frames, 0);
  const framesPerResponse = new Set(ok.map((r) => r.frames));
  return {
    kind,
    model,
    n: results.length,
    concurrency,
    ok: ok.length,
    errors: results.length - ok.length,
    firstError: results.find((r) => !r.ok)?.error ?? null,
    retried: results.filter((r) => r.retried).length,
    truncated,
    wallS,
    rps: ok.length / wallS,
    frames,
    framesPerResponse: [...framesPerResponse].sort((a, b) => a - b),
    cpu,
    cpuSys,
    io,
    firstByteMs: ok.map((r) => r.firstByteMs),
    firstTokenMs: ok.map((r) => r.firstTokenMs),
    totalMs: ok.map((r) => r.totalMs),
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

/** What a p99 over n samples is. */
function tailNote(n) {
  const rank = Math.ceil(0.99 * n);
  return rank >= n ? `With ${n} samples the concurrency-1 p99 is their maximum.` : `With ${n} samples the concurrency-1 p99 is the ${ordinal(n - rank + 1)} slowest.`;
}
const ordinal = (k) => (k === 1 ? '' : k === 2 ? '2nd' : k === 3 ? '3rd' : `${k}th`);

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}
const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);
const fixed = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const int = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const verdict = (good) => (good ? 'PASS' : 'MISS');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (text) => process.stderr.write(`bench: ${text}\n`);


// ---------------------------------------------------------------------------------------------
// Phases. `s` holds the servers: { upstream, floor, parley }, each { pid, port }.

const report = {
  title: 'Parley streaming benchmark',
  date: new Date().toISOString(),
  machine: {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    clkTck: CLK_TCK,
  },
  commit: gitDescribe(),
  config: CFG,
  models: MODEL,
  targets: TARGETS,
  notes: [],
};

function gitDescribe() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--', 'src') ? `${head} (src/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

const pidsOf = (s) => ({ parley: s.parley.pid, floor: s.floor.pid, upstream: s.upstream.pid });

/** A quick end-to-end check of every path, so that a broken build fails fast and clearly. */
async function smoke(s) {
  const out = {};
  for (const [name, kind, port] of [['direct', 'direct', s.upstream.port], ['floor', 'direct', s.floor.port], ['parley', 'parley', s.parley.port]]) {
    const r = await streamOnce({ kind, port, model: MODEL.burst, agent: keepAliveAgent });
    if (!r.ok || r.firstTokenMs < 0) throw new Error(`${name} did not stream a complete response: ${JSON.stringify(r)}`);
    out[name] = r.frames;
  }
  return out;
}

async function warmup(s, model, n) {
  await load({ kind: 'direct', port: s.upstream.port, model, n, concurrency: 20 });
  await load({ kind: 'direct', port: s.floor.port, model, n, concurrency: 20 });
  await load({ kind: 'parley', port: s.parley.port, model, n, concurrency: 20 });
}

/** CPU per event, burst and paced: Parley, the pass-through floor and the upstream itself. */
async function cpuPhase(s) {
  const pids = pidsOf(s);
  const modes = {};
  for (const [mode, model, n, concurrency] of [
    ['burst', MODEL.burst, CFG.cpuN, CFG.cpuConcurrency],
    ['paced', MODEL.paced, CFG.pacedN, CFG.pacedConcurrency],
  ]) {
    progress(`cpu: ${mode}, ${n} streams at concurrency ${concurrency}: direct, floor proxy, Parley`);
    const direct = await load({ kind: 'direct', port: s.upstream.port, model, n, concurrency, pids });
    const floor = await load({ kind: 'direct', port: s.floor.port, model, n, concurrency, pids });
    const parley = await load({ kind: 'parley', port: s.parley.port, model, n, concurrency, pids });
    modes[mode] = {
      direct,
      floor,
      parley,
      parleyUsPerEvent: usPer(parley, 'parley'),
      floorUsPerChunk: usPer(floor, 'floor'),
      upstreamUsPerChunk: usPer(direct, 'upstream'),
    };
  }
  let fit = null;
  if (SHORT_TOKENS >= 1) {
    progress(`cpu: burst, ${CFG.cpuN} streams of ${SHORT_TOKENS} tokens through Parley (fixed cost per response)`);
    await load({ kind: 'parley', port: s.parley.port, model: MODEL.burstShort, n: Math.min(200, CFG.cpuN), concurrency: CFG.cpuConcurrency });
    const short = await load({ kind: 'parley', port: s.parley.port, model: MODEL.burstShort, n: CFG.cpuN, concurrency: CFG.cpuConcurrency, pids });
    const full = modes.burst.parley;
    // cost(response) = fixed + marginal × events
    const a = { events: short.frames / short.ok, cpu: short.cpu.parley / short.ok };
    const b = { events: full.frames / full.ok, cpu: full.cpu.parley / full.ok };
    const marginal = (b.cpu - a.cpu) / (b.events - a.events);
    fit = {
      short,
      shortEvents: a.events,
      fullEvents: b.events,
      shortUsPerResponse: a.cpu * 1e6,
      fullUsPerResponse: b.cpu * 1e6,
      marginalUsPerEvent: marginal * 1e6,
      fixedUsPerResponse: (a.cpu - marginal * a.events) * 1e6,
    };
  }
  return { ...modes, fit };
}

/** CPU µs per SSE frame the client received, for one process of a run. */
function usPer(run, name) {
  return (run.cpu[name] / run.frames) * 1e6;
}

async function throughputPhase(s) {
  const pids = pidsOf(s);
  const c = CFG.throughputConcurrency;
  progress(`throughput: burst at concurrency ${c}: ${CFG.throughputDirectN} streams direct, ${CFG.throughputDirectN} via the floor proxy, ${CFG.throughputN} through Parley`);
  const direct = await load({ kind: 'direct', port: s.upstream.port, model: MODEL.burst, n: CFG.throughputDirectN, concurrency: c, pids });
  const floor = await load({ kind: 'direct', port: s.floor.port, model: MODEL.burst, n: CFG.throughputDirectN, concurrency: c, pids });
  const parley = await load({ kind: 'parley', port: s.parley.port, model: MODEL.burst, n: CFG.throughputN, concurrency: c, pids });
  return { direct, floor, parley, ratio: parley.rps / direct.rps };
}

async function ttfbPhase(s) {
  const pids = pidsOf(s);
  progress(`ttfb: paced, concurrency 1, ${CFG.ttfb1N} streams per path, taking turns: direct, floor proxy, Parley`);
  const runs = { direct: [], floor: [], parley: [] };
  const deadline = performance.now() + 3 * CFG.phaseMaxS * 1000;
  let truncated = false;
  for (let i = 0; i < CFG.ttfb1N; i++) {
    if (performance.now() > deadline) {
      truncated = true;
      break;
    }
    runs.direct.push(await streamOnce({ kind: 'direct', port: s.upstream.port, model: MODEL.paced, agent: keepAliveAgent }));
    runs.floor.push(await streamOnce({ kind: 'direct', port: s.floor.port, model: MODEL.paced, agent: keepAliveAgent }));
    runs.parley.push(await streamOnce({ kind: 'parley', port: s.parley.port, model: MODEL.paced, agent: keepAliveAgent }));
  }
  const summarize = (name, results) => {
    const ok = results.filter((r) => r.ok);
    return {
      kind: name,
      n: results.length,
      ok: ok.length,
      concurrency: 1,
      errors: results.length - ok.length,
      firstError: results.find((r) => !r.ok)?.error ?? null,
      truncated,
      firstByteMs: ok.map((r) => r.firstByteMs),
      firstTokenMs: ok.map((r) => r.firstTokenMs),
      totalMs: ok.map((r) => r.totalMs),
    };
  };
  const c = CFG.ttfbConcurrency;
  progress(`ttfb: paced, concurrency ${c}, ${CFG.ttfb100N} streams per path: direct, floor proxy, Parley`);
  const c100 = {
    direct: await load({ kind: 'direct', port: s.upstream.port, model: MODEL.paced, n: CFG.ttfb100N, concurrency: c, pids }),
    floor: await load({ kind: 'direct', port: s.floor.port, model: MODEL.paced, n: CFG.ttfb100N, concurrency: c, pids }),
    parley: await load({ kind: 'parley', port: s.parley.port, model: MODEL.paced, n: CFG.ttfb100N, concurrency: c, pids }),
  };
  c100.parleyUsPerEvent = usPer(c100.parley, 'parley');
  progress(`ttfb: steady (50 tokens/s), concurrency ${c}, ${CFG.ttfbSteadyN} streams per path: direct, floor proxy, Parley`);
  // Streams a second long, started 10 ms apart: 100 open at any time, arriving as a server sees
  // them in service rather than in waves of 100 at once.
  const staggerMs = (STEADY_TOKENS * STEADY_INTERVAL_MS) / c;
  const steady = {
    direct: await load({ kind: 'direct', port: s.upstream.port, model: MODEL.steady, n: CFG.ttfbSteadyN, concurrency: c, pids, staggerMs }),
    floor: await load({ kind: 'direct', port: s.floor.port, model: MODEL.steady, n: CFG.ttfbSteadyN, concurrency: c, pids, staggerMs }),
    parley: await load({ kind: 'parley', port: s.parley.port, model: MODEL.steady, n: CFG.ttfbSteadyN, concurrency: c, pids, staggerMs }),
  };
  const c1 = { direct: summarize('direct', runs.direct), floor: summarize('floor', runs.floor), parley: summarize('parley', runs.parley) };
  const added = (set, p) => percentile(set.parley.firstTokenMs, p) - percentile(set.direct.firstTokenMs, p);
  const addedFirstByte = (set, p) => percentile(set.parley.firstByteMs, p) - percentile(set.direct.firstByteMs, p);
  return {
    c1,
    c100,
    steady,
    added: {
      c1: { p50: added(c1, 50), p99: added(c1, 99) },
      c100: { p50: added(c100, 50), p99: added(c100, 99) },
      steady: { p50: added(steady, 50), p99: added(steady, 99), firstByteP50: addedFirstByte(steady, 50), firstByteP99: addedFirstByte(steady, 99) },
    },
  };
}

/** RSS per open stream, on a freshly started Parley (after a short warm-up). */
async function memoryPhase(upstream, dataDir) {
  const parley = await startParley(upstream.port, dataDir);
  try {
    const nofile = openFileLimit(parley.pid);
    const allowed = Math.floor((nofile - 256) / 2);
    let n = CFG.openStreams;
    const notes = [];
    if (n > allowed) {
      notes.push(`${n.toLocaleString('en-US')} streams requested; clamped to ${allowed.toLocaleString('en-US')} because Parley's RLIMIT_NOFILE is ${nofile} and each stream holds two sockets (client and upstream)`);
      n = allowed;
    }
    progress(`memory: fresh Parley, warm-up, then ${n} streams held open against a stalling upstream`);
    await load({ kind: 'parley', port: parley.port, model: MODEL.burst, n: 200, concurrency: 20 });
    await load({ kind: 'parley', port: parley.port, model: MODEL.paced, n: 40, concurrency: 20 });
    await sleep(1000);
    const rssBeforeKB = procStatusKB(parley.pid, 'VmRSS');

    const held = [];
    const pending = [];
    let opened = 0;
    let failed = 0;
    let firstError = null;
    const t0 = performance.now();
    const deadline = t0 + CFG.phaseMaxS * 1000;
    const OPENING = 200; // connection attempts in flight at once (Parley's listen backlog is 511)
    let next = 0;
    await new Promise((resolve) => {
      let inFlight = 0;
      const pump = () => {
        while (inFlight < OPENING && next < n && performance.now() < deadline) {
          next++;
          inFlight++;
          let counted = false;
          const done = streamOnce({
            kind: 'parley',
            port: parley.port,
            model: MODEL.stall,
            agent: oneShotAgent,
            retry: false,
            onFirstToken: (req) => {
              counted = true;
              held.push(req);
              opened++;
              inFlight--;
              pump();
            },
          }).then((r) => {
            if (counted) return;
            failed++;
            firstError ??= r.error ?? `ended before its first delta (${r.terminal})`;
            inFlight--;
            pump();
          });
          pending.push(done);
        }
        if (inFlight === 0) resolve();
      };
      pump();
    });
    const openS = (performance.now() - t0) / 1000;
    await sleep(1500);
    const upstreamOpen = (await getJson(upstream.port, '/stats')).body.open;
    const rssOpenKB = procStatusKB(parley.pid, 'VmRSS');

    progress(`memory: closing ${held.length} streams`);
    for (const req of held) req.destroy();
    await Promise.all(pending);
    const closeDeadline = Date.now() + 30_000;
    let upstreamOpenAfter = upstreamOpen;
    while (Date.now() < closeDeadline) {
      upstreamOpenAfter = (await getJson(upstream.port, '/stats')).body.open;
      if (upstreamOpenAfter === 0) break;
      await sleep(100);
    }
    await sleep(1000);
    const rssAfterCloseKB = procStatusKB(parley.pid, 'VmRSS');
    if (upstreamOpenAfter !== 0) notes.push(`${upstreamOpenAfter} upstream streams were still open 30 s after the clients closed theirs`);
    if (upstreamOpen !== opened) notes.push(`the upstream saw ${upstreamOpen} open streams while the client held ${opened}`);
    const perStreamKB = (rssOpenKB - rssBeforeKB) / opened;
    return {
      requested: CFG.openStreams,
      n,
      opened,
      failed,
      firstError,
      openS,
      upstreamOpen,
      upstreamOpenAfterClose: upstreamOpenAfter,
      rssBeforeKB,
      rssOpenKB,
      rssAfterCloseKB,
      perStreamKB,
      projected10kGiB: (rssBeforeKB + 10_000 * perStreamKB) / 2 ** 20,
      notes,
    };
  } finally {
    await stopChild(parley.child);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function markdown(r) {
  const lines = [];
  const out = (line = '') => lines.push(line);
  const m = r.machine;
  const T = r.targets;
  const issues = [];
  const runNotes = (label, run) => {
    if (!run) return;
    if (run.errors) issues.push(`${label}: ${run.errors} of ${run.n} streams failed (first: ${String(run.firstError).slice(0, 200)})`);
    if (run.truncated) issues.push(`${label}: stopped after ${run.n} streams (BENCH_PHASE_MAX_S)`);
    if (run.retried) issues.push(`${label}: ${run.retried} streams retried once after a stale keep-alive socket`);
  };

  out(`# ${r.title}`);
  out();
  out(`${r.date} · commit ${r.commit} · Node ${m.node} · ${m.cpu} × ${m.cores} cores · ${m.memoryGiB} GiB · ${m.platform}`);
  out();
  out(`Upstream: bench/upstream.mjs on loopback, ${r.config.tokens} one-word \`chat.completion.chunk\`s + usage + \`[DONE]\` per stream; ` +
    `**burst** writes them all at once, **paced** one per 1 ms. **floor**: bench/floor-proxy.mjs, a node:http proxy that relays ` +
    `each upstream chunk unparsed (the least a Node relay can spend). Client: node:http + a minimal SSE split, in the bench process; ` +
    `all three servers and the client share the ${m.cores} cores. CPU = utime+stime of the server process from /proc ` +
    `(all threads, GC included, ${m.clkTck} ticks/s) over the run ÷ SSE frames the client received from it. ` +
    `Before the phases, every path is warmed with ${r.config.warmup} burst and ${r.config.warmupPaced} paced streams: ` +
    `the figures are those of a server in its steady state, not of V8 still compiling.`);

  if (r.cpu) {
    const { burst, paced, fit } = r.cpu;
    out();
    out('## CPU per streamed event');
    out();
    out('| mode | server | streams @ concurrency | frames / response | CPU µs / frame | of which system | read · write syscalls / response | server CPU use | target: issue · DESIGN |');
    out('|---|---|---|---|---|---|---|---|---|');
    const row = (mode, server, run, us, proc, target) => {
      const fpr = run.ok ? fixed(run.frames / run.ok, 0) : 'n/a';
      out(`| ${mode} | ${server} | ${run.ok} @ ${run.concurrency} | ${fpr} | ${server === 'Parley' ? `**${fixed(us, 2)}**` : fixed(us, 2)} | ` +
        `${fixed((run.cpuSys[proc] / run.frames) * 1e6, 2)} | ${fixed(run.io[proc].reads / run.ok, 1)} · ${fixed(run.io[proc].writes / run.ok, 1)} | ` +
        `${fixed(run.cpu[proc] / run.wallS, 2)} cores | ${target ?? '—'} |`);
    };
    const target = (us, stretch) => `≤ ${T.cpuIssueUs} ${verdict(us <= T.cpuIssueUs)} · ≤ ${stretch} ${verdict(us <= stretch)}`;
    row('burst', 'Parley', burst.parley, burst.parleyUsPerEvent, 'parley', target(burst.parleyUsPerEvent, T.cpuBurstUs));
    row('burst', 'floor proxy', burst.floor, burst.floorUsPerChunk, 'floor');
    row('burst', 'upstream (direct run)', burst.direct, burst.upstreamUsPerChunk, 'upstream');
    row('paced', 'Parley', paced.parley, paced.parleyUsPerEvent, 'parley', target(paced.parleyUsPerEvent, T.cpuPacedUs));
    row('paced', 'floor proxy', paced.floor, paced.floorUsPerChunk, 'floor');
    row('paced', 'upstream (direct run)', paced.direct, paced.upstreamUsPerChunk, 'upstream');
    if (r.ttfb?.c100) {
      const c100 = r.ttfb.c100;
      row('paced, ttfb run', 'Parley', c100.parley, c100.parleyUsPerEvent, 'parley', target(c100.parleyUsPerEvent, T.cpuPacedUs));
      row('paced, ttfb run', 'floor proxy', c100.floor, usPer(c100.floor, 'floor'), 'floor');
    }
    out();
    out('Peer (DESIGN): 13.5–16.5 µs/event burst, 22–69 µs paced. Parley sends 8 more frames per response than the upstream ' +
      '(created, in_progress, item and part added/done, text done, completed), so per response it does 208/202 of the floor\'s frames.');
    if (fit) {
      out();
      out(`Fixed vs marginal cost (burst, ${fit.short.ok} responses of ${fixed(fit.shortEvents, 0)} events vs ${burst.parley.ok} of ${fixed(fit.fullEvents, 0)}): ` +
        `**${fixed(fit.fixedUsPerResponse, 0)} µs per response + ${fixed(fit.marginalUsPerEvent, 2)} µs per event**; ` +
        `a ${fixed(fit.fullEvents, 0)}-event response costs ${fixed(fit.fullUsPerResponse, 0)} µs of Parley CPU, a ${fixed(fit.shortEvents, 0)}-event one ${fixed(fit.shortUsPerResponse, 0)} µs ` +
        `(${fixed(usPer(fit.short, 'parley'), 1)} µs/event).`);
    }
    for (const mode of ['burst', 'paced']) {
      for (const path of ['direct', 'floor', 'parley']) runNotes(`cpu ${mode} ${path}`, r.cpu[mode][path]);
    }
    runNotes('cpu short parley', fit?.short);
  }

  if (r.throughput) {
    const t = r.throughput;
    out();
    out(`## Throughput (burst, concurrency ${t.parley.concurrency})`);
    out();
    out('| path | streams | wall s | responses / s | Parley CPU | floor CPU | upstream CPU | client CPU |');
    out('|---|---|---|---|---|---|---|---|');
    for (const [name, run] of [['direct', t.direct], ['floor proxy', t.floor], ['through Parley', t.parley]]) {
      const use = (p) => `${fixed(run.cpu[p] / run.wallS, 2)}`;
      out(`| ${name} | ${run.ok} | ${fixed(run.wallS, 2)} | **${int(run.rps)}** | ${use('parley')} | ${use('floor')} | ${use('upstream')} | ${use('client')} |`);
    }
    out();
    const need = 3 * 390;
    const usPerResponse = (t.parley.cpu.parley / t.parley.ok) * 1e6;
    out(`Parley / direct = **${fixed(t.ratio, 3)}** (floor proxy / direct = ${fixed(t.floor.rps / t.direct.rps, 3)}). ` +
      `DESIGN: ≥ 3× the peer's 300–390/s = ≥ ${int(need)}/s: ${verdict(t.parley.rps >= need)}. ` +
      `CPU columns are cores in use. Parley runs on one thread, so at saturation responses/s ≈ 1 s ÷ its CPU per response ` +
      `(${fixed(usPerResponse, 0)} µs here); ${int(need)}/s needs ≤ ${fixed(1e6 / need, 0)} µs per ${fixed(t.parley.frames / t.parley.ok, 0)}-event response, ` +
      `≈ ${fixed(1e6 / need / (t.parley.frames / t.parley.ok), 1)} µs per event all included. The direct baseline is bounded by the client and the upstream sharing ${m.cores} cores ` +
      `(the peer's bare upstream: 2,000–3,100/s).`);
    for (const path of ['direct', 'floor', 'parley']) runNotes(`throughput ${path}`, t[path]);
  }

  if (r.ttfb) {
    const { c1, c100, steady, added } = r.ttfb;
    out();
    out('## Time to first byte / first token');
    out();
    out('| concurrency | upstream pace | path | streams | first byte p50 / p99 ms | first text delta p50 / p99 ms | stream duration p50 ms |');
    out('|---|---|---|---|---|---|---|');
    const row = (c, pace, name, set) =>
      out(`| ${c} | ${pace} | ${name} | ${set.firstTokenMs.length} | ${fixed(percentile(set.firstByteMs, 50), 2)} / ${fixed(percentile(set.firstByteMs, 99), 2)} | ` +
        `${fixed(percentile(set.firstTokenMs, 50), 2)} / ${fixed(percentile(set.firstTokenMs, 99), 2)} | ${fixed(percentile(set.totalMs, 50), 1)} |`);
    for (const [c, pace, set] of [[1, '1 ms', c1], [c100.parley.concurrency, '1 ms', c100], [steady.parley.concurrency, '20 ms', steady]]) {
      row(c, pace, 'direct', set.direct);
      row(c, pace, 'floor proxy', set.floor);
      row(c, pace, 'through Parley', set.parley);
    }
    out();
    const floorAdded = (set, p) => percentile(set.floor.firstTokenMs, p) - percentile(set.direct.firstTokenMs, p);
    out(`Added time to first token, Parley − direct: **concurrency 1: p50 ${fixed(added.c1.p50, 2)} ms, p99 ${fixed(added.c1.p99, 2)} ms** ` +
      `(target ≤ ${T.addedFirstTokenP99Ms} ms p99: ${verdict(added.c1.p99 <= T.addedFirstTokenP99Ms)}; the floor proxy adds ${fixed(floorAdded(c1, 50), 2)} / ${fixed(floorAdded(c1, 99), 2)} ms); ` +
      `**concurrency ${c100.parley.concurrency}: p50 ${fixed(added.c100.p50, 1)} ms, p99 ${fixed(added.c100.p99, 1)} ms** ` +
      `(floor ${fixed(floorAdded(c100, 50), 1)} / ${fixed(floorAdded(c100, 99), 1)} ms). Peer (DESIGN): +6 ms p99 at 1, +1.3 s at 100. ` +
      `${tailNote(c1.parley.firstTokenMs.length)} ` +
      `At concurrency ${c100.parley.concurrency} the paced streams ask for ${int(c100.parley.concurrency * 1000)} events/s; ` +
      `Parley used ${fixed(c100.parley.cpu.parley / c100.parley.wallS, 2)} cores for them.`);
    out();
    const floorAddedFirstByte = (set, p) => percentile(set.floor.firstByteMs, p) - percentile(set.direct.firstByteMs, p);
    out(`At a hosted model's pace (one chunk per 20 ms, ${steady.parley.concurrency} concurrent streams started 10 ms apart, ` +
      `${int(steady.parley.concurrency * 50)} events/s), Parley − direct: **first byte p50 ${fixed(added.steady.firstByteP50, 2)} ms, ` +
      `p99 ${fixed(added.steady.firstByteP99, 2)} ms** (the issue's ≤ ${T.addedFirstTokenP99Ms} ms added TTFB p99: ` +
      `${verdict(added.steady.firstByteP99 <= T.addedFirstTokenP99Ms)}; the floor proxy adds ${fixed(floorAddedFirstByte(steady, 50), 2)} / ` +
      `${fixed(floorAddedFirstByte(steady, 99), 2)} ms); **first token p50 ${fixed(added.steady.p50, 2)} ms, p99 ${fixed(added.steady.p99, 2)} ms** ` +
      `(floor ${fixed(floorAdded(steady, 50), 2)} / ${fixed(floorAdded(steady, 99), 2)} ms).`);
    for (const path of ['direct', 'floor', 'parley']) {
      runNotes(`ttfb c1 ${path}`, c1[path]);
      runNotes(`ttfb c100 ${path}`, c100[path]);
      runNotes(`ttfb steady c100 ${path}`, steady[path]);
    }
  }

  if (r.memory) {
    const mem = r.memory;
    out();
    out('## Memory per open stream');
    out();
    out('| streams open | Parley RSS before | RSS with all open | per stream | target | projected, 10,000 streams | RSS after closing all |');
    out('|---|---|---|---|---|---|---|');
    out(`| ${int(mem.opened)} (opened in ${fixed(mem.openS, 1)} s) | ${fixed(mem.rssBeforeKB / 1024, 1)} MiB | ${fixed(mem.rssOpenKB / 1024, 1)} MiB | ` +
      `**${fixed(mem.perStreamKB, 1)} KB** | < ${T.perStreamKB} KB ${verdict(mem.perStreamKB < T.perStreamKB)} | ` +
      `${fixed(mem.projected10kGiB, 2)} GiB (< ${T.tenKStreamsGiB} GiB ${verdict(mem.projected10kGiB < T.tenKStreamsGiB)}) | ${fixed(mem.rssAfterCloseKB / 1024, 1)} MiB |`);
    out();
    out(`A freshly started Parley, warmed with 240 streams; a stream counts as open once its first text delta arrived ` +
      `(the upstream stalls after its first chunk), RSS read 1.5 s after the last one opened. RSS is user memory: kernel socket buffers are not in it. ` +
      `The upstream saw ${mem.upstreamOpen} streams open; ${mem.upstreamOpenAfterClose} were left after the clients closed theirs. ` +
      `Set BENCH_OPEN_STREAMS (up to 10,000) for a bigger run.`);
    if (mem.failed) issues.push(`memory: ${mem.failed} streams failed to open (first: ${String(mem.firstError).slice(0, 200)})`);
    issues.push(...mem.notes.map((note) => `memory: ${note}`));
  }

  const notes = [...r.notes, ...issues];
  if (notes.length) {
    out();
    out('## Notes');
    out();
    for (const note of notes) out(`- ${note}`);
  }
  out();
  out(`Scale ${r.config.scale}; total bench time ${fixed(r.totalS, 1)} s. Raw figures: ${REPORT_NAME}.json.`);
  return lines.join('\n') + '\n';
}

/** The JSON report keeps summaries, not every sample. */
function summarizeForJson(value) {
  if (Array.isArray(value) && value.length > 20 && typeof value[0] === 'number') {
    return { n: value.length, mean: mean(value), p50: percentile(value, 50), p90: percentile(value, 90), p99: percentile(value, 99), max: percentile(value, 100) };
  }
  if (Array.isArray(value)) return value.map(summarizeForJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, summarizeForJson(v)]));
  return value;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const t0 = performance.now();
  if (!fs.existsSync(PARLEY_CLI)) throw new Error(`${PARLEY_CLI} is missing: run \`npm run build\` (or \`npm run bench\`, which builds first)`);
  if (PARLEY_CLI !== path.join(ROOT, 'dist', 'cli.js')) report.notes.push(`Parley build: ${PARLEY_CLI}`);
  if (Object.keys(PARLEY_BODY).length) report.notes.push(`Responses requests carry ${JSON.stringify(PARLEY_BODY)}`);
  if (PARLEY_NODE_ARGS.length) report.notes.push(`Parley ran with node ${PARLEY_NODE_ARGS.join(' ')}`);
  const dataDir = (tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-')));
  try {
    progress(`starting the upstream, the floor proxy and Parley (data in ${dataDir})`);
    const upstream = await startScript('upstream', 'upstream.mjs', {});
    if (PHASES.has('cpu') || PHASES.has('throughput') || PHASES.has('ttfb')) {
      const floor = await startScript('floor proxy', 'floor-proxy.mjs', { UPSTREAM_URL: `http://${HOST}:${upstream.port}/v1` });
      const parley = await startParley(upstream.port, dataDir);
      const servers = { upstream, floor, parley };
      report.smokeFrames = await smoke(servers);
      progress(`warm-up: ${CFG.warmup} burst and ${CFG.warmupPaced} paced streams per path`);
      await warmup(servers, MODEL.burst, CFG.warmup);
      await warmup(servers, MODEL.paced, CFG.warmupPaced);
      if (PHASES.has('cpu')) report.cpu = await cpuPhase(servers);
      if (PHASES.has('throughput')) report.throughput = await throughputPhase(servers);
      if (PHASES.has('ttfb')) report.ttfb = await ttfbPhase(servers);
      report.parleyRssAfterLoadKB = procStatusKB(parley.pid, 'VmRSS');
      await stopChild(parley.child);
      await stopChild(floor.child);
    }
    if (PHASES.has('memory')) report.memory = await memoryPhase(upstream, dataDir);
    await stopChild(upstream.child);
  } finally {
    keepAliveAgent.destroy();
    oneShotAgent.destroy();
    killChildren();
    removeTempDir();
  }
  report.totalS = (performance.now() - t0) / 1000;

  const md = markdown(report);
  fs.mkdirSync(REPORT_DIR, { recursive: true });
  fs.writeFileSync(path.join(REPORT_DIR, `${REPORT_NAME}.md`), md);
  fs.writeFileSync(path.join(REPORT_DIR, `${REPORT_NAME}.json`), JSON.stringify(summarizeForJson(report), null, 2) + '\n');
  process.stdout.write('\n' + md);
  progress(`report written to ${path.relative(process.cwd(), path.join(REPORT_DIR, REPORT_NAME))}.{md,json}`);
  finishing = true;
}

main().catch((error) => die(`failed: ${error?.stack ?? error}`));
