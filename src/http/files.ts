// /v1/files: thin routes over src/files. Uploads are multipart (busboy, streamed to disk).
import fs from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { FILE_PURPOSES, fileNotFound, type FilePurpose, type Files } from '../files/files.js';
import { receiveForm } from '../files/upload.js';
import { badRequest } from '../protocol/errors.js';

export interface FilesRouteDeps {
  files: Files;
  maxFileBytes: number;
}

export function filesRoutes({ files, maxFileBytes }: FilesRouteDeps) {
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.post('/', async (c) => {
    const form = await receiveForm(c.env.incoming, maxFileBytes, () => files.temporaryPath());
    const upload = form.file;
    try {
      if (!upload) throw badRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
      const purpose = form.fields.get('purpose');
      if (!purpose) throw badRequest("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter');
      if (!(FILE_PURPOSES as readonly string[]).includes(purpose)) {
        throw badRequest(`Invalid value for 'purpose': expected one of ${FILE_PURPOSES.join(', ')}.`, 'purpose', 'invalid_value');
      }
      if (upload.bytes === 0) throw badRequest('The file is empty: an upload needs at least one byte.', 'file', 'empty_file');
      const object = await files.add(upload.path, {
        filename: basename(upload.filename.replace(/\\/g, '/')) || 'upload',
        bytes: upload.bytes,
        purpose: purpose as FilePurpose,
        expiresAfterSeconds: expiresAfter(form.fields),
      });
      return c.json(object);
    } catch (error) {
      if (upload) await fs.promises.rm(upload.path, { force: true });
      throw error;
    }
  });

  app.get('/', (c) => {
    const q = c.req.query();
    const limit = q.limit === undefined ? undefined : Number(q.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10_000)) {
      throw badRequest("Invalid value for 'limit': expected an integer from 1 to 10000.", 'limit', 'invalid_value');
    }
    if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') {
      throw badRequest("Invalid value for 'order': expected 'asc' or 'desc'.", 'order', 'invalid_value');
    }
    return c.json(files.list({ purpose: q.purpose, limit, after: q.after, order: q.order }));
  });

  app.get('/:id', (c) => c.json(files.require(c.req.param('id'))));

  app.delete('/:id', (c) => {
    const id = c.req.param('id');
    if (!files.delete(id)) throw fileNotFound(id);
    return c.json({ id, object: 'file', deleted: true });
  });

  app.get('/:id/content', async (c) => {
    const file = files.require(c.req.param('id'));
    const path = files.contentPath(file.id);
    let stream: fs.ReadStream;
    try {
      await fs.promises.access(path);
      stream = fs.createReadStream(path);
    } catch {
      throw fileNotFound(file.id);
    }
    return c.body(Readable.toWeb(stream) as ReadableStream, 200, {
      'content-type': 'application/octet-stream',
      'content-length': String(file.bytes),
      'content-disposition': `attachment; filename="${encodeURIComponent(file.filename)}"`,
    });
  });

  return app;
}

/** `expires_after[anchor]=created_at` and `expires_after[seconds]=N` (3600 … 2592000), as the SDK sends them. */
function expiresAfter(fields: Map<string, string>): number | undefined {
  let anchor = fields.get('expires_after[anchor]');
  let seconds = fields.get('expires_after[seconds]');
  const json = fields.get('expires_after');
  if (json) {
    try {
      const parsed = JSON.parse(json) as { anchor?: string; seconds?: number };
      anchor = parsed.anchor;
      seconds = String(parsed.seconds);
    } catch {
      throw badRequest("Invalid value for 'expires_after': expected {anchor, seconds}.", 'expires_after', 'invalid_value');
    }
  }
  if (anchor === undefined && seconds === undefined) return undefined;
  const n = Number(seconds);
  if (anchor !== 'created_at') throw badRequest("Invalid value for 'expires_after.anchor': expected 'created_at'.", 'expires_after.anchor', 'invalid_value');
  if (!Number.isInteger(n) || n < 3600 || n > 2_592_000) {
    throw badRequest("Invalid value for 'expires_after.seconds': expected an integer from 3600 to 2592000.", 'expires_after.seconds', 'invalid_value');
  }
  return n;
}
