// /v1/containers and /v1/containers/{id}/files: thin routes over src/containers.
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { page, type Containers } from '../containers/containers.js';
import { receiveForm } from '../files/upload.js';
import { badRequest, notFound } from '../protocol/errors.js';
import { readJsonBody } from './body.js';

export interface ContainersRouteDeps {
  containers: Containers;
  maxBodyBytes: number;
  maxFileBytes: number;
}

const fileNotFound = (id: string) => notFound(`No such Container File: ${id}`, 'file_id');

function listQuery(q: Record<string, string>) {
  const limit = q.limit === undefined ? undefined : Number(q.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) {
    throw badRequest("Invalid value for 'limit': expected an integer from 1 to 100.", 'limit', 'invalid_value');
  }
  if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') throw badRequest("Invalid value for 'order': expected 'asc' or 'desc'.", 'order', 'invalid_value');
  return { limit, after: q.after, order: q.order as 'asc' | 'desc' | undefined, name: q.name };
}

export function containersRoutes({ containers, maxBodyBytes, maxFileBytes }: ContainersRouteDeps) {
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.post('/', async (c) => {
    const body = (await readJsonBody(c.env.incoming, maxBodyBytes)) as Record<string, unknown>;
    if (!body || typeof body !== 'object') throw badRequest('Expected a JSON object.', null, 'invalid_value');
    if (typeof body.name !== 'string') throw badRequest("Missing required parameter: 'name'.", 'name', 'missing_required_parameter');
    const expires = body.expires_after as { anchor?: unknown; minutes?: unknown } | undefined;
    if (expires !== undefined && (expires === null || expires.anchor !== 'last_active_at')) {
      throw badRequest("Invalid value for 'expires_after.anchor': expected 'last_active_at'.", 'expires_after.anchor', 'invalid_value');
    }
    const fileIds = body.file_ids;
    if (fileIds !== undefined && (!Array.isArray(fileIds) || !fileIds.every((id) => typeof id === 'string'))) {
      throw badRequest("Invalid value for 'file_ids': expected an array of file ids.", 'file_ids', 'invalid_value');
    }
    const container = await containers.create({
      name: body.name,
      expiresAfterMinutes: expires ? (expires.minutes as number) : undefined,
      fileIds: fileIds as string[] | undefined,
      memoryLimit: typeof body.memory_limit === 'string' ? body.memory_limit : undefined,
    });
    return c.json(container.object);
  });

  app.get('/', (c) => c.json(containers.list(listQuery(c.req.query()))));
  app.get('/:id', (c) => c.json(containers.require(c.req.param('id')).object));
  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    if (!containers.get(id) || !(await containers.remove(id))) throw notFound(`No such Container: ${id}`, 'container_id');
    return c.json({ id, object: 'container.deleted', deleted: true });
  });

  app.post('/:id/files', async (c) => {
    const container = containers.require(c.req.param('id'));
    const type = c.req.header('content-type') ?? '';
    if (type.startsWith('multipart/form-data')) {
      const form = await receiveForm(c.env.incoming, maxFileBytes, () => join(tmpdir(), `parley-cfile-${randomBytes(12).toString('hex')}`));
      const upload = form.file;
      try {
        if (!upload) {
          const fileId = form.fields.get('file_id');
          if (!fileId) throw badRequest("Missing required parameter: 'file' or 'file_id'.", 'file', 'missing_required_parameter');
          return c.json(await containers.copyFile(container, fileId));
        }
        const data = new Uint8Array(await fs.promises.readFile(upload.path));
        return c.json(await container.addFile(upload.filename.replace(/\\/g, '/').split('/').pop() || 'upload', data, 'user'));
      } finally {
        if (upload) await fs.promises.rm(upload.path, { force: true });
      }
    }
    const body = (await readJsonBody(c.env.incoming, maxBodyBytes)) as { file_id?: unknown };
    if (typeof body?.file_id !== 'string') throw badRequest("Missing required parameter: 'file_id' (or upload 'file' as multipart).", 'file_id', 'missing_required_parameter');
    return c.json(await containers.copyFile(container, body.file_id));
  });

  app.get('/:id/files', (c) => {
    const container = containers.require(c.req.param('id'));
    const query = listQuery(c.req.query());
    const files = [...container.files.values()].map((f) => container.fileObject(f));
    if (query.order !== 'asc') files.reverse();
    return c.json(page(files, query));
  });

  app.get('/:id/files/:fileId', (c) => {
    const container = containers.require(c.req.param('id'));
    const file = container.fileById(c.req.param('fileId'));
    if (!file) throw fileNotFound(c.req.param('fileId'));
    return c.json(container.fileObject(file));
  });

  app.get('/:id/files/:fileId/content', (c) => {
    const container = containers.require(c.req.param('id'));
    const file = container.fileById(c.req.param('fileId'));
    if (!file) throw fileNotFound(c.req.param('fileId'));
    return c.body(Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength) as unknown as ArrayBuffer, 200, {
      'content-type': contentType(file.path),
      'content-length': String(file.bytes),
    });
  });

  app.delete('/:id/files/:fileId', async (c) => {
    const container = containers.require(c.req.param('id'));
    const id = c.req.param('fileId');
    if (!(await container.deleteFile(id))) throw fileNotFound(id);
    return c.json({ id, object: 'container.file.deleted', deleted: true });
  });

  return app;
}

export function contentType(path: string): string {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return ({ png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', txt: 'text/plain', csv: 'text/csv', json: 'application/json' } as Record<string, string>)[ext] ?? 'application/octet-stream';
}
