// A client for an OpenAI-compatible Images API (`POST /images/generations`, JSON; `POST
// /images/edits`, multipart). With `partial_images` > 0 it asks for a stream (`stream: true`) and
// hands each `*.partial_image` event on as it comes; an upstream that answers plain JSON instead
// works too (no partial images then). A result given as a URL is fetched through the outbound guard.
import { createParser } from 'eventsource-parser';
import { allowingHosts, OutboundError, outboundRequest, type AllowList } from '../../net/outbound.js';

export interface ImagesApi {
  /** Base URL, e.g. `http://localhost:8000/v1`. */
  url: string;
  model?: string;
  apiKey?: string;
  timeoutMs: number;
  allow: AllowList;
}

/** The image_generation tool's options, as forwarded to the Images API. */
export interface ImageOptions {
  model?: string;
  size?: string;
  quality?: string;
  output_format?: string;
  background?: string;
  output_compression?: number;
  moderation?: string;
  input_fidelity?: string;
  /** 0–3: previews to stream before the final image. */
  partial_images: number;
}

export interface ImageFile {
  data: Buffer;
  mimeType: string;
}

export interface ImageJob {
  prompt: string;
  options: ImageOptions;
  /** Edit these images (`/images/edits`); absent = generate a new one. */
  images?: ImageFile[];
  mask?: ImageFile;
  signal: AbortSignal;
  /** A preview arrived (0-based index, base64 image, what the upstream says it used). */
  onPartial?(index: number, b64: string, details: ImageDetails): void;
}

export interface ImageDetails {
  size?: string;
  quality?: string;
  background?: string;
  output_format?: string;
}

export interface ImageResult extends ImageDetails {
  b64: string;
  revisedPrompt?: string;
}

export class ImageApiError extends Error {
  override name = 'ImageApiError';
}

const MAX_BYTES = 64 * 1024 * 1024;

export async function runImageJob(api: ImagesApi, job: ImageJob): Promise<ImageResult> {
  const edit = Boolean(job.images?.length);
  const stream = job.options.partial_images > 0;
  const headers: Record<string, string> = { accept: stream ? 'text/event-stream, application/json' : 'application/json' };
  if (api.apiKey) headers.authorization = `Bearer ${api.apiKey}`;
  const fields = compact({
    model: api.model ?? job.options.model,
    prompt: job.prompt,
    n: 1,
    size: job.options.size,
    quality: job.options.quality,
    output_format: job.options.output_format,
    background: job.options.background,
    output_compression: job.options.output_compression,
    moderation: job.options.moderation,
    input_fidelity: edit ? job.options.input_fidelity : undefined,
    stream: stream ? true : undefined,
    partial_images: stream ? job.options.partial_images : undefined,
  });

  let body: string | Uint8Array;
  if (edit) {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) form.append(key, String(value));
    const images = job.images!;
    images.forEach((image, i) => form.append(images.length > 1 ? 'image[]' : 'image', new Blob([new Uint8Array(image.data)], { type: image.mimeType }), `image-${i}.${extension(image.mimeType)}`));
    if (job.mask) form.append('mask', new Blob([new Uint8Array(job.mask.data)], { type: job.mask.mimeType }), `mask.${extension(job.mask.mimeType)}`);
    const encoded = new Request('http://multipart.invalid/', { method: 'POST', body: form });
    body = new Uint8Array(await encoded.arrayBuffer());
    headers['content-type'] = encoded.headers.get('content-type')!;
  } else {
    body = JSON.stringify(fields);
    headers['content-type'] = 'application/json';
  }

  const endpoint = `${api.url}/images/${edit ? 'edits' : 'generations'}`;
  // The operator chose this endpoint: its host is reachable even on a private network.
  const allow = allowingHosts(api.allow, api.url);
  const res = await outboundRequest(endpoint, { allow, method: 'POST', headers, body, timeoutMs: api.timeoutMs, maxBytes: MAX_BYTES, signal: job.signal });
  if (res.status >= 300) throw new ImageApiError(`the Images API answered HTTP ${res.status}${errorDetail(await res.text())}`);

  if (res.mediaType === 'text/event-stream') return readStream(res.chunks(), job);
  const answer = (await res.json().catch(() => {
    throw new ImageApiError('the Images API did not answer JSON');
  })) as { data?: Array<{ b64_json?: string; url?: string; revised_prompt?: string }> } & ImageDetails;
  const first = answer.data?.[0];
  if (!first) throw new ImageApiError('the Images API answered without an image');
  const b64 = first.b64_json ?? (first.url ? await download(first.url, allow, api.timeoutMs, job.signal) : undefined);
  if (!b64) throw new ImageApiError('the Images API answered without an image');
  return { b64, revisedPrompt: first.revised_prompt, ...details(answer as Record<string, unknown>) };
}

async function readStream(chunks: AsyncIterable<Buffer>, job: ImageJob): Promise<ImageResult> {
  let result: ImageResult | null = null;
  let failure: string | null = null;
  let relayed = 0;
  const parser = createParser({
    onEvent(message) {
      if (message.data === '[DONE]' || failure) return;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(message.data) as Record<string, unknown>;
      } catch {
        return;
      }
      const type = String(data.type ?? message.event ?? '');
      if (type === 'error' || data.error) {
        failure = errorDetail(JSON.stringify(data)).replace(/^: /, '') || 'the Images API stream reported an error';
      } else if (type.endsWith('.partial_image') && typeof data.b64_json === 'string') {
        if (relayed < job.options.partial_images) job.onPartial?.(relayed++, data.b64_json, details(data));
      } else if (type.endsWith('.completed') && typeof data.b64_json === 'string') {
        result = { b64: data.b64_json, revisedPrompt: typeof data.revised_prompt === 'string' ? data.revised_prompt : undefined, ...details(data) };
      }
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (failure) break;
  }
  if (failure) throw new ImageApiError(`the Images API failed: ${failure}`);
  if (!result) throw new ImageApiError('the Images API stream ended without a final image');
  return result;
}

async function download(url: string, allow: AllowList, timeoutMs: number, signal: AbortSignal): Promise<string> {
  const data = url.match(/^data:[^;,]+;base64,(.*)$/s);
  if (data) return data[1];
  const res = await outboundRequest(url, { allow: allowingHosts(allow, url.startsWith('http') ? url : 'http://invalid'), timeoutMs, maxBytes: MAX_BYTES, signal });
  if (res.status !== 200) throw new ImageApiError(`the image at ${url} could not be read: HTTP ${res.status}`);
  return (await res.buffer()).toString('base64');
}

function details(data: Record<string, unknown>): ImageDetails {
  const out: ImageDetails = {};
  for (const key of ['size', 'quality', 'background', 'output_format'] as const) {
    if (typeof data[key] === 'string') out[key] = data[key] as string;
  }
  return out;
}

function errorDetail(body: string): string {
  let detail = body.trim();
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    detail = String((typeof json.error === 'object' ? json.error?.message : json.error) ?? json.message ?? detail);
  } catch {
    // plain text
  }
  return detail ? `: ${detail.slice(0, 300)}` : '';
}

function compact(fields: Record<string, unknown>): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null)) as Record<string, string | number | boolean>;
}

function extension(mimeType: string): string {
  return mimeType === 'image/jpeg' ? 'jpg' : (mimeType.split('/')[1] ?? 'png');
}

export { OutboundError };
