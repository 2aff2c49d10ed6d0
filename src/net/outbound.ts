// Outbound HTTP for built-in tools (web pages, search back-ends, Images APIs, MCP servers), behind
// an SSRF guard. Every request made here:
//
// - goes only to http: or https: URLs;
// - is refused when its host is, or resolves to, a private, loopback, link-local, shared,
//   multicast or otherwise non-public address, IPv4 or IPv6 (IPv4-mapped, NAT64, 6to4 and Teredo
//   addresses are judged by the IPv4 address they carry) — unless the operator allows that host or
//   network (PARLEY_OUTBOUND_ALLOW: host names, `.suffix` / `*.suffix`, IP addresses, CIDRs);
// - checks the addresses DNS gives at connect time (the socket connects to the address that was
//   checked, so a name cannot resolve to a public address for the check and a private one for the
//   connection), on a fresh connection each time, and again on every redirect (at most
//   `maxRedirects`, default 5);
// - has one deadline for the whole exchange (`timeoutMs`), a cap on the body (`maxBytes`), and an
//   optional content-type check.
//
//   const allow = parseAllowList(config.outboundAllow);
//   const res = await outboundRequest('https://example.com/', { allow, timeoutMs: 15_000, maxBytes: 5 << 20 });
//   const html = (await res.buffer()).toString('utf8');
//
// Failures are OutboundError with a `code` (blocked, timeout, too_large, redirects, content_type,
// network) and a message fit to show a model or a client.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export type OutboundErrorCode = 'blocked' | 'timeout' | 'too_large' | 'redirects' | 'content_type' | 'network' | 'aborted';

export class OutboundError extends Error {
  constructor(
    message: string,
    readonly code: OutboundErrorCode,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

/** What the guard lets through despite the address checks (PARLEY_OUTBOUND_ALLOW). */
export interface AllowList {
  /** Exact host names, lower case. */
  readonly hosts: ReadonlySet<string>;
  /** Domain suffixes: `example.com` allows `example.com` and every subdomain. */
  readonly suffixes: readonly string[];
  /** IP addresses and networks. */
  readonly networks: net.BlockList;
}

/**
 * `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`, `searxng.internal`, `.corp.example` or
 * `*.corp.example` (the domain and its subdomains). Throws on a malformed CIDR.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const networks = new net.BlockList();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if (!entry) continue;
    const [address, prefix] = entry.split('/');
    const family = net.isIP(address);
    if (family) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) networks.addAddress(address, type);
      else {
        const bits = Number(prefix);
        if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new Error(`PARLEY_OUTBOUND_ALLOW: bad network '${raw}'`);
        networks.addSubnet(address, bits, type);
      }
    } else if (entry.startsWith('*.') || entry.startsWith('.')) {
      suffixes.push(entry.replace(/^\*?\./, ''));
    } else {
      hosts.add(entry);
    }
  }
  return { hosts, suffixes, networks };
}

/** The allow list plus the hosts of `urls` (e.g. an endpoint the operator configured). */
export function allowingHosts(allow: AllowList, ...urls: string[]): AllowList {
  const hosts = new Set(allow.hosts);
  for (const url of urls) hosts.add(hostOf(new URL(url)));
  return { ...allow, hosts };
}

// Address classification ------------------------------------------------------------------------

const NOT_PUBLIC_V4 = new net.BlockList();
for (const [address, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata lives here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NOT_PUBLIC_V4.addSubnet(address, bits, 'ipv4');
}

const NOT_PUBLIC_V6 = new net.BlockList();
for (const [address, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['2001:10::', 28], // ORCHID
  ['2001:20::', 28], // ORCHIDv2
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC_V6.addSubnet(address, bits, 'ipv6');
}

/**
 * True when `ip` is not a public unicast address: private, loopback, link-local, shared,
 * documentation, multicast, reserved — or not an IP address at all. IPv6 addresses that carry an
 * IPv4 address (mapped, NAT64, 6to4, Teredo) are judged by it as well.
 */
export function isNonPublicAddress(ip: string): boolean {
  const address = ip.replace(/%.*$/, '');
  const family = net.isIP(address);
  if (family === 4) return NOT_PUBLIC_V4.check(address, 'ipv4');
  if (family !== 6) return true;
  const embedded = embeddedIPv4(address);
  if (embedded !== null && NOT_PUBLIC_V4.check(embedded, 'ipv4')) return true;
  return NOT_PUBLIC_V6.check(address, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped, NAT64, 6to4 or Teredo IPv6 address, else null. */
export function embeddedIPv4(ipv6: string): string | null {
  const b = ipv6Bytes(ipv6);
  if (!b) return null;
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number, mask = 0) => [0, 1, 2, 3].map((i) => b[at + i] ^ mask).join('.');
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (translated)
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return v4(12);
  // 64:ff9b::/96 (NAT64) and 64:ff9b:1::/48 (local-use NAT64)
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && (zero(4, 12) || (b[4] === 0 && b[5] === 1))) return v4(12);
  // 2002::/16 (6to4): the IPv4 address follows the prefix
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  // 2001:0::/32 (Teredo): the client's address, inverted, in the last 32 bits
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) return v4(12, 0xff);
  return null;
}

function ipv6Bytes(address: string): number[] | null {
  let text = address.replace(/%.*$/, '');
  if (net.isIP(text) !== 6) return null;
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const groups = (s: string) => (s ? s.split(':') : []);
  const left = groups(head);
  const right = tail === null ? [] : groups(tail);
  const all = tail === null ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  if (all.length !== 8) return null;
  return all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** Why a connection to `ip` (for `host`) is refused, or null when it may go ahead. */
export function refusal(host: string, ip: string, allow: AllowList): string | null {
  if (hostAllowed(host, allow)) return null;
  const address = ip.replace(/%.*$/, '');
  const family = net.isIP(address);
  if (family && allow.networks.check(address, family === 4 ? 'ipv4' : 'ipv6')) return null;
  const embedded = family === 6 ? embeddedIPv4(address) : null;
  if (embedded && allow.networks.check(embedded, 'ipv4')) return null;
  if (!isNonPublicAddress(address)) return null;
  const where = host === address ? address : `${host} (${address})`;
  return `${where} is a private, loopback or link-local address; outbound requests there are refused (an operator can allow it with PARLEY_OUTBOUND_ALLOW)`;
}

function hostAllowed(host: string, allow: AllowList): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allow.hosts.has(h) || allow.suffixes.some((s) => h === s || h.endsWith(`.${s}`));
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** Throws OutboundError unless `url` is http(s) and its host, if an IP address, may be reached. */
export function checkUrl(url: URL, allow: AllowList): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundError(`${url.protocol.replace(/:$/, '')} URLs cannot be fetched: only http and https`, 'blocked');
  }
  const host = hostOf(url);
  if (net.isIP(host)) {
    // A literal address is never looked up: check it here. Names are checked as they resolve.
    const reason = refusal(host, host, allow);
    if (reason) throw new OutboundError(reason, 'blocked');
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that refuses any name with a non-public address among its answers. */
function guardedLookup(allow: AllowList) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const { address } of addresses) {
        const reason = refusal(hostname, address, allow);
        if (reason) return callback(new OutboundError(reason, 'blocked') as NodeJS.ErrnoException, []);
      }
      if (options.all) callback(null, addresses);
      else if (addresses.length === 0) callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

// Requests --------------------------------------------------------------------------------------

export interface OutboundOptions {
  allow: AllowList;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** The whole exchange, redirects and body included, must end within this. */
  timeoutMs: number;
  /** The body may not be larger (bytes). */
  maxBytes: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Checked on the final response's media type (e.g. `text/html`); false refuses the body. */
  acceptContentType?: (mediaType: string) => boolean;
}

export interface OutboundResponse {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The media type, lower case, without parameters ('' if none). */
  mediaType: string;
  /** The body as it arrives; throws OutboundError past `maxBytes` or the deadline. */
  chunks(): AsyncIterable<Buffer>;
  buffer(): Promise<Buffer>;
  text(): Promise<string>;
  json(): Promise<unknown>;
  /** Stops reading (the connection is closed). */
  close(): void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One HTTP exchange through the guard; see the top of this file. */
export async function outboundRequest(target: string | URL, options: OutboundOptions): Promise<OutboundResponse> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const abortError = () =>
    deadline.aborted
      ? new OutboundError(`no complete answer within ${options.timeoutMs} ms`, 'timeout')
      : new OutboundError('the request was cancelled', 'aborted');

  let url = new URL(target);
  let method = (options.method ?? 'GET').toUpperCase();
  let body = options.body;
  const headers: Record<string, string> = { 'user-agent': 'Parley/0.1 (self-hosted Responses API server)', ...options.headers };
  const maxRedirects = options.maxRedirects ?? 5;

  for (let hop = 0; ; hop++) {
    checkUrl(url, options.allow);
    const res = await send(url, method, headers, body, options.allow, signal, abortError);
    const location = res.headers.location;
    if (REDIRECTS.has(res.statusCode ?? 0) && location) {
      res.resume();
      if (hop >= maxRedirects) throw new OutboundError(`more than ${maxRedirects} redirects`, 'redirects');
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        for (const name of Object.keys(headers)) if (/^(authorization|cookie|x-subscription-token|x-api-key)$/i.test(name)) delete headers[name];
      }
      const status = res.statusCode ?? 0;
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        for (const name of Object.keys(headers)) if (/^content-(type|length)$/i.test(name)) delete headers[name];
      }
      url = next;
      continue;
    }
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (options.acceptContentType && (res.statusCode ?? 0) < 300 && !options.acceptContentType(mediaType)) {
      res.destroy();
      throw new OutboundError(`the content type ${mediaType || '(none)'} cannot be read here`, 'content_type');
    }
    return respond(url.href, res, mediaType, options.maxBytes, signal, abortError);
  }
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | Uint8Array | undefined,
  allow: AllowList,
  signal: AbortSignal,
  abortError: () => OutboundError,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // A fresh connection each time, so that every connection goes through the lookup below.
      agent: false,
      lookup: guardedLookup(allow) as unknown as typeof dns.lookup,
    });
    const onAbort = () => req.destroy(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res) => {
      signal.removeEventListener('abort', onAbort);
      resolve(res);
    });
    req.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error instanceof OutboundError ? error : new OutboundError(`${url.host}: ${error.message}`, 'network'));
    });
    req.end(body);
  });
}

function respond(
  url: string,
  res: http.IncomingMessage,
  mediaType: string,
  maxBytes: number,
  signal: AbortSignal,
  abortError: () => OutboundError,
): OutboundResponse {
  const onAbort = () => res.destroy(abortError());
  signal.addEventListener('abort', onAbort, { once: true });
  res.on('close', () => signal.removeEventListener('abort', onAbort));
  let consumed = false;

  async function* chunks(): AsyncGenerator<Buffer> {
    if (consumed) throw new Error('the body was already read');
    consumed = true;
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.destroy();
      throw new OutboundError(`the body is ${declared} bytes; at most ${maxBytes} are read`, 'too_large');
    }
    let total = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) {
          res.destroy();
          throw new OutboundError(`the body is larger than ${maxBytes} bytes`, 'too_large');
        }
        yield chunk;
      }
    } catch (error) {
      if (error instanceof OutboundError) throw error;
      if (signal.aborted) throw abortError();
      throw new OutboundError(`reading ${new URL(url).host}: ${(error as Error).message}`, 'network');
    }
  }

  const buffer = async () => {
    const parts: Buffer[] = [];
    for await (const chunk of chunks()) parts.push(chunk);
    return Buffer.concat(parts);
  };

  return {
    url,
    status: res.statusCode ?? 0,
    headers: res.headers,
    mediaType,
    chunks,
    buffer,
    text: async () => (await buffer()).toString('utf8'),
    json: async () => JSON.parse((await buffer()).toString('utf8')),
    close: () => res.destroy(),
  };
}
