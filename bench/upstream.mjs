// A loopback Chat Completions upstream for the benchmarks: node:http, no dependencies, and as
// little work per chunk as possible so that it does not dominate the numbers it is used for.
//
//   node bench/upstream.mjs            listens on 127.0.0.1, a free port; prints {"port":N} on stdout
//   PORT=9000 node bench/upstream.mjs  a fixed port
//
// POST /v1/chat/completions streams `chat.completion.chunk` SSE. The request's `model` picks
// the behaviour ("<mode>" or "<mode>-<tokens>", tokens default 200):
//   burst    every chunk written at once, one res.write per chunk, in a single tick
//   paced    one chunk per millisecond (chunk i is due at start + i ms; late timers catch up)
//   steady   one chunk per 20 ms: 50 tokens/s, the pace of a hosted model
//   stall    the first chunk, then nothing: the response stays open until the client leaves
// Each content chunk carries one short word (the first also `role: assistant`, the last
// `finish_reason: stop`), then one usage chunk (`choices: []`), then `data: [DONE]`.
// GET /v1/models lists the modes; GET /stats returns {"open": streams in progress}.
//
// It exits when its parent goes away (IPC disconnect) or on SIGTERM/SIGINT.
import http from 'node:http';

const HOST = '127.0.0.1';
const DEFAULT_TOKENS = 200;
const MODES = new Set(['burst', 'paced', 'steady', 'stall']);
/** Milliseconds between chunks of the timed modes. */
const INTERVAL_MS = { paced: 1, steady: 20 };
const WORDS = [' the', ' quick', ' brown', ' fox', ' jumps', ' over', ' a', ' lazy', ' dog', ' again'];
const CREATED = Math.floor(Date.now() / 1000);

/** Pre-serialised chunks per model id (`tokens` content chunks + usage + [DONE]). */
const cache = new Map();
function chunksFor(model, tokens) {
  const key = `${model}\0${tokens}`;
  let frames = cache.get(key);
  if (frames) return frames;
  const head = `{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":${CREATED},"model":${JSON.stringify(model)},"choices":`;
  frames = [];
  for (let i = 0; i < tokens; i++) {
    const delta = i === 0 ? { role: 'assistant', content: WORDS[0] } : { content: WORDS[i % WORDS.length] };
    const choice = { index: 0, delta, finish_reason: i === tokens - 1 ? 'stop' : null };
    frames.push(`data: ${head}[${JSON.stringify(choice)}]}\n\n`);
  }
  const usage = { prompt_tokens: 8, completion_tokens: tokens, total_tokens: 8 + tokens };
  frames.push(`data: ${head}[],"usage":${JSON.stringify(usage)}}\n\n`);
  frames.push('data: [DONE]\n\n');
  cache.set(key, frames);
  return frames;
}

const SSE_HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };
const open = new Set();
const STALL_MAX_MS = Number(process.env.UPSTREAM_STALL_MAX_MS || 600_000);

function stream(res, model, mode, tokens) {
  const frames = chunksFor(model, tokens);
  res.writeHead(200, SSE_HEAD);
  if (mode === 'burst') {
    for (let i = 0; i < frames.length; i++) res.write(frames[i]);
    res.end();
    return;
  }
  open.add(res);
  let timer = null;
  const done = () => {
    open.delete(res);
    if (timer) clearTimeout(timer);
    timer = null;
  };
  res.on('close', done);
  if (mode === 'stall') {
    res.write(frames[0]);
    // A bound, so that a forgotten stream cannot hold the process forever.
    timer = setTimeout(() => res.destroy(), STALL_MAX_MS);
    return;
  }
  // paced, steady
  const interval = INTERVAL_MS[mode];
  const start = performance.now();
  let next = 0;
  const tick = () => {
    timer = null;
    const due = Math.min(frames.length, Math.floor((performance.now() - start) / interval) + 1);
    while (next < due) res.write(frames[next++]);
    if (next >= frames.length) {
      res.end();
      done();
      return;
    }
    timer = setTimeout(tick, start + next * interval - performance.now());
  };
  tick();
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url.endsWith('/models')) {
    return sendJson(res, 200, { object: 'list', data: [...MODES].map((id) => ({ id, object: 'model', owned_by: 'bench' })) });
  }
  if (req.method === 'GET' && url === '/stats') return sendJson(res, 200, { open: open.size });
  if (req.method !== 'POST' || !url.endsWith('/chat/completions')) return sendJson(res, 404, { error: { message: 'not found' } });
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    let model;
    try {
      model = JSON.parse(body).model;
    } catch {
      return sendJson(res, 400, { error: { message: 'invalid JSON' } });
    }
    const m = /^(burst|paced|steady|stall)(?:-(\d+))?$/.exec(typeof model === 'string' ? model : '');
    if (!m) return sendJson(res, 404, { error: { message: `unknown model ${model}; use burst, paced, steady or stall[-tokens]` } });
    const tokens = m[2] ? Math.max(1, Math.min(100_000, Number(m[2]))) : DEFAULT_TOKENS;
    stream(res, model, m[1], tokens);
  });
});
server.keepAliveTimeout = 60_000;
server.maxConnections = Infinity;

const stop = () => {
  for (const res of open) res.destroy();
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
if (process.channel) {
  process.once('disconnect', stop);
  process.channel.unref();
}

server.listen({ host: HOST, port: Number(process.env.PORT || 0), backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid }) + '\n');
});
