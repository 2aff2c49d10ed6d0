// A loopback OpenAI-compatible Images API: `POST /v1/images/generations` (JSON) and
// `POST /v1/images/edits` (multipart). Images are real PNGs made here (test/helpers/png.ts) at the
// requested size ('WxH'; 'auto' = 32x32). With `stream: true` it streams `partial_images`
// previews (or `extraPartials` more) as `image_generation.partial_image` / `image_edit.partial_image`
// SSE events, then `*.completed`; otherwise it answers `{data: [{b64_json}]}`.
//
//   const images = await startFakeImagesApi();
//   images.url                      PARLEY_IMAGES_URL (…/v1)
//   images.requests                 { path, headers, fields, files } per request (files: image bytes by field)
//   images.fail(status, body)       the next request answers that error
//   images.extraPartials = n        stream n previews more than asked for
import type http from 'node:http';
import { sendJson, startFakeServer, type FakeServer } from './fake-server.js';
import { encodePng, type Rgba } from './png.js';

export interface ImagesRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  fields: Record<string, any>;
  files: Record<string, Buffer[]>;
}

export interface FakeImagesApi extends FakeServer {
  requests: ImagesRequest[];
  fail(status: number, body?: unknown): void;
  extraPartials: number;
}

/** The colour of the final image, and of each preview (lighter as it "develops"). */
export const FINAL_COLOUR: Rgba = [200, 30, 40, 255];
export const EDIT_COLOUR: Rgba = [20, 60, 220, 255];

export async function startFakeImagesApi(): Promise<FakeImagesApi> {
  const requests: ImagesRequest[] = [];
  const failures: Array<{ status: number; body?: unknown }> = [];
  const api = {} as FakeImagesApi;

  const server = await startFakeServer(async (req, res) => {
    const path = req.url ?? '';
    if (req.method !== 'POST' || (path !== '/v1/images/generations' && path !== '/v1/images/edits')) return sendJson(res, 404, { error: { message: `no route ${path}` } });
    const raw = await readRaw(req);
    const request: ImagesRequest = { path, headers: req.headers, fields: {}, files: {} };
    if (path.endsWith('/generations')) request.fields = JSON.parse(raw.toString('utf8'));
    else {
      const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: new Uint8Array(raw) }).formData();
      for (const [key, value] of form.entries()) {
        if (typeof value === 'string') request.fields[key] = value;
        else (request.files[key] ??= []).push(Buffer.from(await value.arrayBuffer()));
      }
    }
    requests.push(request);
    const failure = failures.shift();
    if (failure) return sendJson(res, failure.status, failure.body ?? { error: { message: 'the image model is on fire', type: 'server_error' } });

    const f = request.fields;
    const [width, height] = f.size && f.size !== 'auto' ? String(f.size).split('x').map(Number) : [32, 32];
    const edit = path.endsWith('/edits');
    const colour = edit ? EDIT_COLOUR : FINAL_COLOUR;
    const final = encodePng(width, height, () => colour);
    const details = { size: `${width}x${height}`, quality: f.quality ?? 'auto', background: f.background ?? 'opaque', output_format: f.output_format ?? 'png' };
    const stream = f.stream === true || f.stream === 'true';
    if (!stream) {
      return sendJson(res, 200, { created: 1700000000, data: [{ b64_json: final.toString('base64') }], ...details, usage: { input_tokens: 5, output_tokens: 10, total_tokens: 15 } });
    }
    const prefix = edit ? 'image_edit' : 'image_generation';
    const partials = Number(f.partial_images ?? 0) + api.extraPartials;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < partials; i++) {
      const shade = Math.round(255 - ((255 - colour[0]) * (i + 1)) / (partials + 1));
      const preview = encodePng(width, height, (x) => (x < ((i + 1) * width) / (partials + 1) ? [shade, shade, shade, 255] : [255, 255, 255, 255]));
      const event = { type: `${prefix}.partial_image`, b64_json: preview.toString('base64'), partial_image_index: i, created_at: 1700000000, ...details };
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const done = { type: `${prefix}.completed`, b64_json: final.toString('base64'), created_at: 1700000000, ...details, usage: { input_tokens: 5, output_tokens: 10, total_tokens: 15 } };
    res.end(`event: ${done.type}\ndata: ${JSON.stringify(done)}\n\n`);
  });

  return Object.assign(api, server, {
    get closedConnections() {
      return server.closedConnections;
    },
    requests,
    fail: (status: number, body?: unknown) => void failures.push({ status, body }),
    extraPartials: 0,
  });
}

async function readRaw(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
