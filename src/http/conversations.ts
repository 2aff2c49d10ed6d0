// /v1/conversations: thin routes over the store. Item normalization and the rules shared with
// POST /v1/responses (`conversation`) live in engine/conversation.ts.
import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import {
  conversationItemNotFound,
  conversationNotFound,
  newConversation,
  normalizeItems,
} from '../engine/conversation.js';
import { badRequest } from '../protocol/errors.js';
import { zodToApiError } from '../protocol/request.js';
import type { StoredItem } from '../protocol/types.js';
import type { Store } from '../store/types.js';
import { readJsonBody } from './body.js';
import { listQuery } from './list-query.js';

export interface ConversationsRouteDeps {
  store: Store;
  maxBodyBytes: number;
}

const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'at most 16 keys are allowed');
const items = z.array(z.looseObject({ type: z.string().optional(), role: z.string().optional() })).max(20);

const createBody = z.looseObject({ metadata: metadata.nullish(), items: items.nullish() });
const updateBody = z.looseObject({ metadata: metadata.nullable() });
const addItemsBody = z.looseObject({ items });

export function conversationsRoutes({ store, maxBodyBytes }: ConversationsRouteDeps) {
  const app = new Hono<{ Bindings: HttpBindings }>();

  const body = async <T>(req: IncomingMessage, schema: z.ZodType<T>, optional = false): Promise<T> => {
    const json = optional && !hasBody(req) ? {} : await readJsonBody(req, maxBodyBytes);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
    }
    const result = schema.safeParse(json);
    if (!result.success) throw zodToApiError(result.error);
    return result.data;
  };

  const existing = async (id: string) => {
    const conversation = await store.getConversation(id);
    if (!conversation) throw conversationNotFound(id);
    return conversation;
  };

  app.post('/', async (c) => {
    const request = await body(c.env.incoming, createBody, true);
    const initial = request.items ? await normalizeItems(request.items as RawItems, store) : [];
    const conversation = newConversation(request.metadata);
    await store.createConversation(conversation, initial);
    return c.json(conversation);
  });

  app.get('/:id', async (c) => c.json(await existing(c.req.param('id'))));

  app.post('/:id', async (c) => {
    const id = c.req.param('id');
    const request = await body(c.env.incoming, updateBody);
    const conversation = await store.updateConversation(id, request.metadata ?? {});
    if (!conversation) throw conversationNotFound(id);
    return c.json(conversation);
  });

  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await store.deleteConversation(id))) throw conversationNotFound(id);
    return c.json({ id, object: 'conversation.deleted', deleted: true });
  });

  app.get('/:id/items', async (c) => {
    const id = c.req.param('id');
    await existing(id);
    // `include` asks for fields that Parley's items already carry in full: nothing to add.
    const page = await store.listConversationItems(id, listQuery(c.req.query()));
    return c.json({ object: 'list', ...page });
  });

  app.post('/:id/items', async (c) => {
    const id = c.req.param('id');
    const request = await body(c.env.incoming, addItemsBody);
    await existing(id);
    const added = await normalizeItems(request.items as RawItems, store, id);
    if (!(await store.appendConversationItems(id, added))) throw conversationNotFound(id);
    return c.json(itemList(added));
  });

  app.get('/:id/items/:item_id', async (c) => {
    const id = c.req.param('id');
    const itemId = c.req.param('item_id');
    await existing(id);
    const item = await store.getConversationItem(id, itemId);
    if (!item) throw conversationItemNotFound(itemId);
    return c.json(item);
  });

  app.delete('/:id/items/:item_id', async (c) => {
    const id = c.req.param('id');
    const itemId = c.req.param('item_id');
    const conversation = await existing(id);
    if (!(await store.deleteConversationItem(id, itemId))) throw conversationItemNotFound(itemId);
    return c.json(conversation);
  });

  return app;
}

type RawItems = Parameters<typeof normalizeItems>[0];

function itemList(data: StoredItem[]) {
  return {
    object: 'list',
    data,
    first_id: data.length ? data[0].id : null,
    last_id: data.length ? data[data.length - 1].id : null,
    has_more: false,
  };
}

/** POST /v1/conversations may come without a body. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}
