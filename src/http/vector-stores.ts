// /v1/vector_stores: thin routes over src/vector-stores. Bodies are checked here (zod, then the
// attribute and filter rules of vector-stores/filters.ts); the logic lives in the service.
import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { badRequest } from '../protocol/errors.js';
import { zodToApiError } from '../protocol/request.js';
import { parseAttributes, parseFilter } from '../vector-stores/filters.js';
import type { ListQuery } from '../vector-stores/repo.js';
import type { AttachParams, VectorStores } from '../vector-stores/service.js';
import { readJsonBody } from './body.js';

export interface VectorStoresRouteDeps {
  vectorStores: VectorStores;
  maxBodyBytes: number;
}

/** How soon the SDK's poll helpers (createAndPoll, uploadAndPoll) should ask again. */
const POLL_AFTER_MS = '100';

const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'at most 16 keys are allowed');
const chunkingStrategy = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto') }),
  z.object({
    type: z.literal('static'),
    static: z
      .object({ max_chunk_size_tokens: z.number().int().min(100).max(4096), chunk_overlap_tokens: z.number().int().min(0) })
      .refine((s) => s.chunk_overlap_tokens <= s.max_chunk_size_tokens / 2, 'chunk_overlap_tokens must not exceed half of max_chunk_size_tokens'),
  }),
]);
const expiresAfter = z.object({ anchor: z.literal('last_active_at'), days: z.number().int().min(1).max(365) });

const createBody = z.looseObject({
  name: z.string().optional(),
  description: z.string().optional(),
  metadata: metadata.nullish(),
  expires_after: expiresAfter.optional(),
  file_ids: z.array(z.string()).max(500).optional(),
  chunking_strategy: chunkingStrategy.optional(),
});
const updateBody = z.looseObject({ name: z.string().nullish(), metadata: metadata.nullish(), expires_after: expiresAfter.nullish() });
const attachBody = z.looseObject({ file_id: z.string().min(1), attributes: z.unknown().optional(), chunking_strategy: chunkingStrategy.optional() });
const batchBody = z.looseObject({
  file_ids: z.array(z.string().min(1)).min(1).max(2000).optional(),
  files: z.array(attachBody).min(1).max(2000).optional(),
  attributes: z.unknown().optional(),
  chunking_strategy: chunkingStrategy.optional(),
});
const updateFileBody = z.looseObject({ attributes: z.unknown() });
const searchBody = z.looseObject({
  query: z.union([z.string(), z.array(z.string()).min(1)]),
  filters: z.unknown().optional(),
  max_num_results: z.number().int().min(1).max(50).optional(),
  ranking_options: z
    .looseObject({
      ranker: z.enum(['none', 'auto', 'default-2024-11-15']).optional(),
      score_threshold: z.number().min(0).max(1).optional(),
      hybrid_search: z.object({ embedding_weight: z.number().min(0), text_weight: z.number().min(0) }).optional(),
    })
    .optional(),
  rewrite_query: z.boolean().optional(),
});

export function vectorStoresRoutes({ vectorStores, maxBodyBytes }: VectorStoresRouteDeps) {
  const app = new Hono<{ Bindings: HttpBindings }>();

  const body = async <T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> => {
    const json = await readJsonBody(req, maxBodyBytes);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
    }
    const result = schema.safeParse(json);
    if (!result.success) throw zodToApiError(result.error);
    return result.data;
  };
  const polled = <T>(c: Context, value: T) => c.json(value, 200, { 'openai-poll-after-ms': POLL_AFTER_MS });

  app.post('/', async (c) => c.json(vectorStores.create(await body(c.env.incoming, createBody))));
  app.get('/', (c) => c.json(vectorStores.list(listQuery(c.req.query()))));
  app.get('/:id', (c) => polled(c, vectorStores.retrieve(c.req.param('id'))));
  app.post('/:id', async (c) => c.json(vectorStores.update(c.req.param('id'), await body(c.env.incoming, updateBody))));
  app.delete('/:id', (c) => c.json(vectorStores.delete(c.req.param('id'))));

  app.post('/:id/search', async (c) => {
    const request = await body(c.env.incoming, searchBody);
    const filters = request.filters === undefined || request.filters === null ? null : parseFilter(request.filters, 'filters');
    return c.json(await vectorStores.search(c.req.param('id'), { ...request, filters }));
  });

  app.post('/:id/files', async (c) => {
    const request = await body(c.env.incoming, attachBody);
    return polled(c, vectorStores.attach(c.req.param('id'), attachParams(request, 'attributes')));
  });
  app.get('/:id/files', (c) => c.json(vectorStores.listFiles(c.req.param('id'), fileListQuery(c.req.query()))));
  app.get('/:id/files/:file_id', (c) => polled(c, vectorStores.retrieveFile(c.req.param('id'), c.req.param('file_id'))));
  app.post('/:id/files/:file_id', async (c) => {
    const request = await body(c.env.incoming, updateFileBody);
    return c.json(vectorStores.updateFile(c.req.param('id'), c.req.param('file_id'), parseAttributes(request.attributes)));
  });
  app.delete('/:id/files/:file_id', (c) => c.json(vectorStores.deleteFile(c.req.param('id'), c.req.param('file_id'))));
  app.get('/:id/files/:file_id/content', (c) => c.json(vectorStores.fileContent(c.req.param('id'), c.req.param('file_id'))));

  app.post('/:id/file_batches', async (c) => {
    const request = await body(c.env.incoming, batchBody);
    if ((request.file_ids === undefined) === (request.files === undefined)) {
      throw badRequest("Exactly one of 'file_ids' and 'files' is required.", request.files ? 'files' : 'file_ids', 'invalid_value');
    }
    const files = request.files
      ? request.files.map((f, i) => attachParams(f, `files[${i}].attributes`))
      : request.file_ids!.map((file_id) => attachParams({ file_id, attributes: request.attributes, chunking_strategy: request.chunking_strategy }, 'attributes'));
    return polled(c, vectorStores.createBatch(c.req.param('id'), { files }));
  });
  app.get('/:id/file_batches/:batch_id', (c) => polled(c, vectorStores.retrieveBatch(c.req.param('id'), c.req.param('batch_id'))));
  app.post('/:id/file_batches/:batch_id/cancel', (c) => c.json(vectorStores.cancelBatch(c.req.param('id'), c.req.param('batch_id'))));
  app.get('/:id/file_batches/:batch_id/files', (c) =>
    c.json(vectorStores.listFiles(c.req.param('id'), fileListQuery(c.req.query()), c.req.param('batch_id'))),
  );

  return app;
}

function attachParams(request: z.infer<typeof attachBody>, param: string): AttachParams {
  return { file_id: request.file_id, attributes: parseAttributes(request.attributes, param), chunking_strategy: request.chunking_strategy };
}

function listQuery(q: Record<string, string>): ListQuery {
  const limit = q.limit === undefined ? 20 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw badRequest("Invalid value for 'limit': expected an integer from 1 to 100.", 'limit', 'invalid_value');
  }
  if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') {
    throw badRequest("Invalid value for 'order': expected 'asc' or 'desc'.", 'order', 'invalid_value');
  }
  return { limit, order: q.order, after: q.after, before: q.before };
}

const FILE_STATUSES = ['in_progress', 'completed', 'failed', 'cancelled'];

function fileListQuery(q: Record<string, string>): ListQuery & { filter?: string } {
  if (q.filter !== undefined && !FILE_STATUSES.includes(q.filter)) {
    throw badRequest(`Invalid value for 'filter': expected one of ${FILE_STATUSES.join(', ')}.`, 'filter', 'invalid_value');
  }
  return { ...listQuery(q), filter: q.filter };
}
