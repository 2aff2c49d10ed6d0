import { badRequest } from '../protocol/errors.js';
import type { ListQuery } from '../store/types.js';

/** `limit`, `order`, `after`, `before` of a list endpoint, checked like OpenAI checks them. */
export function listQuery(q: Record<string, string>, { max = 100, fallback = 20 }: { max?: number; fallback?: number } = {}): ListQuery {
  const limit = q.limit === undefined ? fallback : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw badRequest(`Invalid value for 'limit': expected an integer from 1 to ${max}.`, 'limit', 'invalid_value');
  }
  if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') {
    throw badRequest("Invalid value for 'order': expected 'asc' or 'desc'.", 'order', 'invalid_value');
  }
  return { limit, order: q.order, after: q.after, before: q.before };
}
