// The floor: a transparent node:http proxy that forwards POST /v1/chat/completions to the bench
// upstream and writes each upstream data chunk to the client as it arrives — no parsing, no
// events, no storage. Whatever a Node server that relays a stream chunk by chunk must spend
// (a read and a write per chunk, the event loop, HTTP framing) it spends too, so its CPU per
// chunk is the lower bound that Parley's CPU per event is measured against on this machine.
//
//   UPSTREAM_URL=http://127.0.0.1:PORT/v1 node bench/floor-proxy.mjs   prints {"port":N} on stdout
import http from 'node:http';

const upstream = new URL(`${process.env.UPSTREAM_URL.replace(/\/+$/, '')}/chat/completions`);
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
    res.writeHead(404).end();
    return;
  }
  let complete = false;
  const headers = { 'content-type': 'application/json' };
  if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
  const forward = http.request({ hostname: upstream.hostname, port: upstream.port, path: upstream.pathname, method: 'POST', agent, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, { 'content-type': up.headers['content-type'] ?? 'text/event-stream' });
    up.on('data', (chunk) => res.write(chunk));
    up.on('end', () => {
      complete = true;
      res.end();
    });
    up.on('error', () => res.destroy());
  });
  forward.on('error', () => res.destroy());
  res.on('close', () => {
    if (!complete) forward.destroy(); // the client left early
  });
  req.pipe(forward);
});

const stop = () => {
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

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid }) + '\n');
});
