// HTTP and SSE plumbing shared by the back-ends that stream from an upstream over HTTP (Chat
// Completions, Responses): node:http with keep-alive, Node streams, eventsource-parser, one
// idle timer, abort, and one retry when a kept-alive socket turns out to be closed. A back-end
// subclasses `SseStream` and parses each event's data; everything else lives here once.
import http from 'node:http';
import https from 'node:https';
import { createParser, type EventSourceParser, type ParseError } from 'eventsource-parser';
import { ModelError, type ModelErrorCode, type ModelInfo, type PartSink } from './types.js';

export interface UpstreamOptions {
  /** e.g. `http://localhost:11434/v1`; paths such as `chat/completions` are appended. */
  baseUrl: string;
  apiKey?: string;
  /** The upstream request fails when no bytes arrive for this long. */
  idleTimeoutMs: number;
}

export class Upstream {
  private readonly agent: http.Agent;
  private readonly send: typeof http.request;
  private readonly hostname: string;
  private readonly port: string;
  private readonly prefix: string;
  private readonly authorization: string | undefined;
  readonly idleTimeoutMs: number;

  constructor(options: UpstreamOptions) {
    const url = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    const secure = url.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.send = secure ? https.request : http.request;
    this.hostname = url.hostname.replace(/^\[|\]$/g, ''); // IPv6 literals come bracketed
    this.port = url.port;
    this.prefix = url.pathname;
    this.authorization = options.apiKey ? `Bearer ${options.apiKey}` : undefined;
    this.idleTimeoutMs = options.idleTimeoutMs;
  }

  request(method: 'GET' | 'POST', path: string, body?: string): http.ClientRequest {
    const headers: http.OutgoingHttpHeaders = { accept: body ? 'text/event-stream' : 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    if (this.authorization) headers.authorization = this.authorization;
    return this.send({
      hostname: this.hostname,
      port: this.port,
      path: this.prefix + path,
      method,
      headers,
      agent: this.agent,
    });
  }

  /** GET `models`: the ids the upstream lists; [] when it cannot say. */
  listModels(): Promise<ModelInfo[]> {
    return new Promise((resolve) => {
      const req = this.request('GET', 'models');
      req.setTimeout(this.idleTimeoutMs, () => req.destroy());
      req.on('error', () => resolve([]));
      req.on('response', (res) => {
        readBody(res, (text) => {
          if (res.statusCode === undefined || res.statusCode >= 300) return resolve([]);
          try {
            const data = (JSON.parse(text) as { data?: Array<{ id?: unknown; owned_by?: unknown }> }).data;
            if (!Array.isArray(data)) return resolve([]);
            resolve(
              data
                .filter((m) => typeof m?.id === 'string')
                .map((m) => ({ id: m.id as string, owned_by: typeof m.owned_by === 'string' ? m.owned_by : 'upstream' })),
            );
          } catch {
            resolve([]);
          }
        });
      });
      req.end();
    });
  }
}

const MAX_ERROR_BODY = 64 * 1024;

export function readBody(res: http.IncomingMessage, done: (text: string) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    if (text.length < MAX_ERROR_BODY) text += chunk;
  });
  res.on('end', () => done(text));
  res.on('error', () => done(text));
}

/** The official ResponseErrorCode values: an upstream's code that is one of them is kept as it is. */
const RESPONSE_ERROR_CODES: Record<ModelErrorCode, true> = {
  server_error: true,
  rate_limit_exceeded: true,
  invalid_prompt: true,
  data_residency_mismatch: true,
  bio_policy: true,
  misalignment_policy_violation: true,
  vector_store_timeout: true,
  invalid_image: true,
  invalid_image_format: true,
  invalid_base64_image: true,
  invalid_image_url: true,
  image_too_large: true,
  image_too_small: true,
  image_parse_error: true,
  image_content_policy_violation: true,
  invalid_image_mode: true,
  image_file_too_large: true,
  unsupported_image_media_type: true,
  empty_image_file: true,
  failed_to_download_image: true,
  image_file_not_found: true,
};

/** The upstream's error code when it is an official one; else rate limits by name, else server_error. */
export function errorCode(code: unknown, status?: number): ModelErrorCode {
  if (typeof code === 'string' && Object.hasOwn(RESPONSE_ERROR_CODES, code)) return code as ModelErrorCode;
  const rateLimited = status === 429 || code === 429 || code === '429' || code === 'rate_limit_exceeded' || code === 'insufficient_quota';
  return rateLimited ? 'rate_limit_exceeded' : 'server_error';
}

/** An HTTP error body (`{"error": {"message", "code"}}`, `{"message"}`, `{"detail"}` or text) as a ModelError. */
export function httpError(status: number, text: string): ModelError {
  let message: string | undefined;
  let code: unknown;
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const error = body?.error as { message?: unknown; code?: unknown } | string | undefined;
    const candidate = typeof error === 'string' ? error : (error?.message ?? body?.message ?? body?.detail);
    if (typeof candidate === 'string' && candidate) message = candidate;
    if (typeof error === 'object' && error) code = error.code;
  } catch {
    // not JSON: use the text
  }
  message ??= text.trim().slice(0, 500) || `upstream returned HTTP ${status}`;
  return new ModelError(message, errorCode(code, status), status);
}

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

type SseStreamClass = new (
  upstream: Upstream,
  path: string,
  body: string,
  signal: AbortSignal,
  sink: PartSink,
  resolve: () => void,
  reject: (error: unknown) => void,
) => SseStream;

/** Runs one model step: POSTs `body` to `path` and parses the stream with `Stream`. */
export function streamStep(Stream: SseStreamClass, upstream: Upstream, path: string, body: string, signal: AbortSignal, sink: PartSink): Promise<void> {
  return new Promise<void>((resolve, reject) => void new Stream(upstream, path, body, signal, sink, resolve, reject));
}

/**
 * One streamed POST to the upstream. The subclass parses each SSE event's data (`onEvent`,
 * which may throw to fail the step), pushing parts into `sink`, and decides what the end of the
 * body means (`onEndOfStream`); it calls `succeed()` once the step is complete. Failures reject
 * with a ModelError, an abort with the signal's reason; either way the upstream request is
 * destroyed.
 */
export abstract class SseStream {
  private readonly parser: EventSourceParser;
  private readonly timer: NodeJS.Timeout;
  private req!: http.ClientRequest;
  private gotResponse = false;
  private retried = false;
  protected settled = false;

  constructor(
    protected readonly upstream: Upstream,
    private readonly path: string,
    private readonly body: string,
    protected readonly signal: AbortSignal,
    protected readonly sink: PartSink,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.parser = createParser({ onEvent: (event) => this.onEvent(event.data), onError: onParseError });
    this.timer = setTimeout(this.onIdle, upstream.idleTimeoutMs);
    if (signal.aborted) {
      this.settled = true;
      clearTimeout(this.timer);
      reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', this.onAbort);
    this.send();
  }

  /** One event's `data`, in order. Throwing fails the step. */
  protected abstract onEvent(data: string): void;

  /** The body ended before the step succeeded: call `succeed()`, or throw a ModelError. */
  protected abstract onEndOfStream(): void;

  private send(): void {
    const req = (this.req = this.upstream.request('POST', this.path, this.body));
    req.on('response', (res) => this.onResponse(req, res));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (this.settled || req !== this.req) return;
      // A keep-alive socket the upstream closed while idle: the request never reached it.
      if (!this.gotResponse && !this.retried && req.reusedSocket && RETRYABLE.has(error.code ?? '')) {
        this.retried = true;
        this.send();
        return;
      }
      this.fail(new ModelError(`upstream request failed: ${error.message}`));
    });
    req.end(this.body);
  }

  private onResponse(req: http.ClientRequest, res: http.IncomingMessage): void {
    if (this.settled || req !== this.req) return void res.resume();
    this.gotResponse = true;
    this.timer.refresh();
    const status = res.statusCode ?? 0;
    const type = res.headers['content-type'] ?? '';
    if (status < 200 || status >= 300 || type.includes('application/json')) {
      readBody(res, (text) => {
        if (status >= 200 && status < 300) {
          // Some servers answer 200 with a JSON error, or ignore `stream: true`.
          const error = httpError(status, text);
          this.fail(new ModelError(`upstream did not stream: ${error.message}`));
        } else {
          this.fail(httpError(status, text));
        }
      });
      return;
    }
    res.setEncoding('utf8');
    res.on('data', this.onData);
    res.on('end', this.onEnd);
    res.on('error', (error) => this.fail(new ModelError(`upstream stream ended unexpectedly: ${error.message}`)));
    res.on('close', () => clearTimeout(this.timer));
  }

  private readonly onData = (chunk: string): void => {
    if (this.settled) return;
    this.timer.refresh();
    try {
      this.parser.feed(chunk);
    } catch (error) {
      this.fail(error);
    }
  };

  private readonly onEnd = (): void => {
    clearTimeout(this.timer);
    if (this.settled) return;
    try {
      this.parser.reset({ consume: true }); // a last event without its blank line
      if (this.settled) return;
      this.onEndOfStream();
    } catch (error) {
      this.fail(error);
    }
  };

  private readonly onIdle = (): void => {
    // After success the timer only guards against an upstream that never ends its response.
    if (this.settled) return void this.req.destroy();
    this.fail(new ModelError(`upstream sent nothing for ${this.upstream.idleTimeoutMs} ms`));
  };

  private readonly onAbort = (): void => {
    this.fail(this.signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
  };

  protected fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onAbort);
    this.req.destroy();
    this.reject(error);
  }

  /** The step is complete: resolves; the rest of the body, if any, is read and dropped. */
  protected succeed(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener('abort', this.onAbort);
    this.resolve();
  }
}

function onParseError(error: ParseError): void {
  // Unknown fields and bad `retry` lines are ignored, as the SSE spec says.
  if (error.type === 'max-buffer-size-exceeded') throw new ModelError(`malformed upstream event: ${error.message}`);
}

/** A short excerpt of data that could not be parsed, for an error message. */
export function excerpt(data: string): string {
  return data.length > 200 ? data.slice(0, 200) + '…' : data;
}
