// Cursor pagination over one owner's positioned items (a response's input items, a
// conversation's items), shared by both stores: after/before are item ids, order 'desc' by
// default, limit 1..100, like OpenAI's list endpoints.
import type { StoredItem } from '../protocol/types.js';
import type { ListPage, ListQuery } from './types.js';

/** The position of an item of the owner, or undefined when the owner has no such item. */
export type PositionOf = (ownerId: string, itemId: string) => number | undefined | Promise<number | undefined>;
/** Up to `limit` items with lo < position < hi, in `direction` order of position. */
export type ItemRange = (direction: 'asc' | 'desc', ownerId: string, lo: number, hi: number, limit: number) => StoredItem[] | Promise<StoredItem[]>;

export function paginator(positionOf: PositionOf, range: ItemRange) {
  return async (ownerId: string, query: ListQuery): Promise<ListPage<StoredItem>> => {
    const order = query.order ?? 'desc';
    const requested = Number.isFinite(query.limit) ? Math.trunc(query.limit!) : 20;
    const limit = Math.min(Math.max(requested, 1), 100);
    const empty: ListPage<StoredItem> = { data: [], first_id: null, last_id: null, has_more: false };

    const afterPos = query.after === undefined ? undefined : await positionOf(ownerId, query.after);
    const beforePos = query.before === undefined ? undefined : await positionOf(ownerId, query.before);
    if ((query.after !== undefined && afterPos === undefined) || (query.before !== undefined && beforePos === undefined)) {
      return empty;
    }

    // Translate "after/before in list order" into a position window (lo, hi).
    let lo = -1;
    let hi = Number.MAX_SAFE_INTEGER;
    const [startPos, endPos] = order === 'asc' ? [afterPos, beforePos] : [beforePos, afterPos];
    if (startPos !== undefined) lo = startPos;
    if (endPos !== undefined) hi = endPos;

    // With only `before`, the page is the `limit` items nearest the cursor: walk backwards, then flip.
    const backwards = query.before !== undefined && query.after === undefined;
    const direction = backwards === (order === 'asc') ? 'desc' : 'asc';
    const rows = await range(direction, ownerId, lo, hi, limit + 1);
    const has_more = rows.length > limit;
    const data = rows.slice(0, limit);
    if (backwards) data.reverse();
    return {
      data,
      first_id: data.length ? data[0].id : null,
      last_id: data.length ? data[data.length - 1].id : null,
      has_more,
    };
  };
}
