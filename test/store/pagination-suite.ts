// The list contract both item lists share (a response's input items, a conversation's items),
// like OpenAI's list endpoints: after/before cursors, order desc by default, limit 1..100.
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredItem } from '../../src/protocol/types.js';
import type { ListPage, ListQuery } from '../../src/store/types.js';

export interface PaginatedList {
  /** Stores the owner with these items, in order. */
  seed(items: StoredItem[]): Promise<void>;
  list(query: ListQuery): Promise<ListPage<StoredItem>>;
  /** An item id that exists, but not in this list. */
  foreignId: string;
  /** Lists an owner that does not exist. */
  listMissing(): Promise<ListPage<StoredItem>>;
}

const message = (id: string, text: string): StoredItem => ({
  id,
  type: 'message',
  role: 'user',
  status: 'completed',
  content: [{ type: 'input_text', text }],
});
const idsOf = (items: StoredItem[]) => items.map((i) => i.id);

/** Registers the cases in the current describe block; `prefix` names the five items (`${prefix}0` …). */
export function paginationCases(prefix: string, target: () => PaginatedList): void {
  const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((n) => `${prefix}${n}`);
  const list = (query: ListQuery) => target().list(query);

  before(async () => {
    await target().seed([a, b, c, d, e].map((id) => message(id, `text ${id}`)));
  });

  it('defaults to desc order, limit 20', async () => {
    const page = await list({});
    assert.deepEqual(idsOf(page.data), [e, d, c, b, a]);
    assert.equal(page.first_id, e);
    assert.equal(page.last_id, a);
    assert.equal(page.has_more, false);
    assert.deepEqual(page.data[0], message(e, `text ${e}`));
  });

  it('pages forward with limit and after, in both orders', async () => {
    let page = await list({ order: 'asc', limit: 2 });
    assert.deepEqual(idsOf(page.data), [a, b]);
    assert.equal(page.has_more, true);
    page = await list({ order: 'asc', limit: 2, after: page.last_id! });
    assert.deepEqual(idsOf(page.data), [c, d]);
    assert.equal(page.has_more, true);
    page = await list({ order: 'asc', limit: 2, after: page.last_id! });
    assert.deepEqual(idsOf(page.data), [e]);
    assert.equal(page.first_id, e);
    assert.equal(page.last_id, e);
    assert.equal(page.has_more, false);

    page = await list({ limit: 2, after: d });
    assert.deepEqual(idsOf(page.data), [c, b]);
    assert.equal(page.has_more, true);
    page = await list({ limit: 2, after: b });
    assert.deepEqual(idsOf(page.data), [a]);
    assert.equal(page.has_more, false);
  });

  it('pages backward with before: the items nearest the cursor, in list order', async () => {
    let page = await list({ order: 'asc', limit: 2, before: e });
    assert.deepEqual(idsOf(page.data), [c, d]);
    assert.equal(page.has_more, true);
    page = await list({ order: 'asc', limit: 2, before: c });
    assert.deepEqual(idsOf(page.data), [a, b]);
    assert.equal(page.has_more, false);

    page = await list({ order: 'desc', limit: 2, before: b });
    assert.deepEqual(idsOf(page.data), [d, c]);
    assert.equal(page.has_more, true);
    page = await list({ order: 'desc', before: a });
    assert.deepEqual(idsOf(page.data), [e, d, c, b]);
    assert.equal(page.has_more, false);
  });

  it('combines after and before into a window', async () => {
    const page = await list({ order: 'asc', after: a, before: e });
    assert.deepEqual(idsOf(page.data), [b, c, d]);
    const desc = await list({ after: e, before: a, limit: 2 });
    assert.deepEqual(idsOf(desc.data), [d, c]);
    assert.equal(desc.has_more, true);
  });

  it('clamps limit to 1..100', async () => {
    assert.equal((await list({ limit: 0 })).data.length, 1);
    assert.equal((await list({ limit: 1000 })).data.length, 5);
  });

  it('returns an empty page for a cursor that is not in this list, or an owner that does not exist', async () => {
    const empty = { data: [], first_id: null, last_id: null, has_more: false };
    assert.deepEqual(await list({ after: 'nope' }), empty);
    assert.deepEqual(await list({ before: target().foreignId }), empty);
    assert.deepEqual(await list({ after: target().foreignId }), empty);
    assert.deepEqual(await target().listMissing(), empty);
    // A valid cursor at the end of the list is just an empty last page.
    assert.deepEqual(await list({ order: 'asc', after: e }), empty);
  });
}
