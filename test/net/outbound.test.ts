// The outbound guard (src/net/outbound.ts): address classification, the allow list, and real
// requests to loopback servers — refused unless allowed, checked after DNS and on every redirect,
// with deadlines, size caps and content-type checks.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { embeddedIPv4, isNonPublicAddress, outboundRequest, OutboundError, parseAllowList } from '../../src/net/outbound.js';

describe('address classification', () => {
  test('private, loopback, link-local and other non-public IPv4 addresses', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '198.18.0.1', '192.0.2.5']) {
      assert.equal(isNonPublicAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '93.184.216.34', '100.128.0.1']) assert.equal(isNonPublicAddress(ip), false, ip);
  });

  test('IPv6, including addresses that carry an IPv4 address', () => {
    for (const ip of ['::1', '::', 'fe80::1', 'fe80::1%eth0', 'fc00::1', 'fd12:3456::1', 'ff02::1', '2001:db8::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', '2002:c0a8:101::1', '::127.0.0.1']) {
      assert.equal(isNonPublicAddress(ip), true, ip);
    }
    for (const ip of ['2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1']) assert.equal(isNonPublicAddress(ip), false, ip);
    assert.equal(embeddedIPv4('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(embeddedIPv4('2002:c0a8:101::1'), '192.168.1.1');
    assert.equal(embeddedIPv4('2001:0:4136:e378:8000:63bf:3fff:fdd2'), '192.0.2.45'); // Teredo (RFC 4380 example)
    assert.equal(isNonPublicAddress('not an address'), true);
  });

  test('the allow list takes hosts, suffixes, addresses and CIDRs', () => {
    const allow = parseAllowList(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'searxng.internal', '*.corp.example', '[::1]']);
    assert.ok(allow.networks.check('127.0.0.1', 'ipv4'));
    assert.ok(allow.networks.check('10.200.0.1', 'ipv4'));
    assert.ok(allow.networks.check('fd00::5', 'ipv6'));
    assert.ok(allow.networks.check('::1', 'ipv6'));
    assert.ok(!allow.networks.check('192.168.0.1', 'ipv4'));
    assert.ok(allow.hosts.has('searxng.internal'));
    assert.deepEqual(allow.suffixes, ['corp.example']);
    assert.throws(() => parseAllowList(['10.0.0.0/33']), /bad network/);
  });
});

describe('requests through the guard', () => {
  let server: http.Server;
  let port = 0;
  const hits: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/hello') return res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
      if (url.pathname === '/redirect') return res.writeHead(302, { location: url.searchParams.get('to')! }).end();
      if (url.pathname === '/loop') return res.writeHead(302, { location: '/loop' }).end();
      if (url.pathname === '/big') return res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(10_000));
      if (url.pathname === '/pdf') return res.writeHead(200, { 'content-type': 'application/pdf' }).end('%PDF');
      if (url.pathname === '/slow') return setTimeout(() => res.end('late'), 2000);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

  const base = { timeoutMs: 1000, maxBytes: 1_000_000 };
  const refused = async (url: string, allow: string[] = [], pattern = /private, loopback or link-local/) => {
    const before = hits.length;
    await assert.rejects(outboundRequest(url, { ...base, allow: parseAllowList(allow) }), (error: unknown) => {
      assert.ok(error instanceof OutboundError, String(error));
      assert.equal(error.code, 'blocked');
      assert.match(error.message, pattern);
      return true;
    });
    assert.equal(hits.length, before, `${url} reached the server`);
  };

  test('loopback, private and link-local targets are refused unless allowed', async () => {
    await refused(`http://127.0.0.1:${port}/hello`);
    await refused(`http://[::ffff:127.0.0.1]:${port}/hello`);
    await refused(`http://2130706433:${port}/hello`); // 127.0.0.1 written as one number
    await refused(`http://0x7f.1:${port}/hello`);
    await refused(`http://localhost:${port}/hello`);
    await refused('http://169.254.169.254/latest/meta-data/');
    await refused('http://[fe80::1]/');
    await refused('http://10.0.0.1/');
    await refused('file:///etc/passwd', [], /only http and https/);
    const res = await outboundRequest(`http://127.0.0.1:${port}/hello`, { ...base, allow: parseAllowList(['127.0.0.1']) });
    assert.equal(await res.text(), 'hello');
  });

  test('a name is checked after DNS resolution', async () => {
    // The name is not judged by itself: the address the resolver gives is.
    await refused(`http://localhost:${port}/hello`, [], /^localhost \((127\.0\.0\.1|::1)\) is a private/);
    const res = await outboundRequest(`http://localhost:${port}/hello`, { ...base, allow: parseAllowList(['127.0.0.0/8', '::1']) });
    assert.equal(await res.text(), 'hello');
  });

  test('every redirect is checked again, and their number is limited', async () => {
    const allowHostOnly = parseAllowList(['localhost']);
    const ok = await outboundRequest(`http://localhost:${port}/redirect?to=/hello`, { ...base, allow: allowHostOnly });
    assert.equal(await ok.text(), 'hello');
    assert.equal(ok.url, `http://localhost:${port}/hello`);
    const before = hits.length;
    await assert.rejects(
      outboundRequest(`http://localhost:${port}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${port}/hello`)}`, { ...base, allow: allowHostOnly }),
      (error: unknown) => error instanceof OutboundError && error.code === 'blocked',
    );
    assert.equal(hits.length, before + 1, 'the redirect target was not requested');
    await assert.rejects(outboundRequest(`http://localhost:${port}/loop`, { ...base, allow: allowHostOnly, maxRedirects: 3 }), /more than 3 redirects/);
  });

  test('deadline, size cap and content-type check', async () => {
    const allow = parseAllowList(['127.0.0.1']);
    await assert.rejects(outboundRequest(`http://127.0.0.1:${port}/slow`, { allow, timeoutMs: 200, maxBytes: 100 }), /within 200 ms/);
    const big = await outboundRequest(`http://127.0.0.1:${port}/big`, { allow, timeoutMs: 1000, maxBytes: 1000 });
    await assert.rejects(big.text(), /1000 bytes/);
    await assert.rejects(
      outboundRequest(`http://127.0.0.1:${port}/pdf`, { allow, timeoutMs: 1000, maxBytes: 1000, acceptContentType: (t) => t.startsWith('text/') }),
      /application\/pdf cannot be read/,
    );
  });
});
