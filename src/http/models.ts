import { Hono } from 'hono';
import type { ModelRegistry } from '../models/registry.js';
import { notFound } from '../protocol/errors.js';

const STARTED = Math.floor(Date.now() / 1000);

export function modelsRoutes(models: ModelRegistry) {
  const app = new Hono();
  const toModel = (m: { id: string; owned_by: string }) => ({ id: m.id, object: 'model', created: STARTED, owned_by: m.owned_by });

  app.get('/', async (c) => c.json({ object: 'list', data: (await models.list()).map(toModel) }));

  app.get('/:id{.+}', async (c) => {
    const id = c.req.param('id');
    const model = (await models.list()).find((m) => m.id === id);
    if (!model) throw notFound(`The model '${id}' does not exist.`, 'model');
    return c.json(toModel(model));
  });
  return app;
}
