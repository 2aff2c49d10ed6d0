// The conversation half of the Store contract, run against every backend (sqlite.test.ts,
// postgres.test.ts): conversations, their items, pagination, concurrent appends, reopen.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredItem } from '../../src/protocol/types.js';
import type { Conversation, Store } from '../../src/store/types.js';
import { paginationCases } from './pagination-suite.js';
import { freshStore, type StoreBackend } from './backends.js';

export const conversation = (id: string, metadata: Record<string, string> = {}): Conversation => ({
  id,
  object: 'conversation',
  created_at: 1_700_000_000,
  metadata,
});

export const message = (id: string, text: string): StoredItem => ({
  id,
  type: 'message',
  role: 'user',
  status: 'completed',
  content: [{ type: 'input_text', text }],
});

export const idsOf = (items: StoredItem[]) => items.map((i) => i.id);
export function conversationStoreSuite(backend: StoreBackend): void {
  describe(`${backend.name} store: conversations`, () => {
    let store: Store;
    let dispose: (() => Promise<void>) | undefined;

    before(async () => ({ store, dispose } = await freshStore(backend)));
    after(() => dispose?.());

    it('creates, reads, updates and deletes a conversation with its items', async () => {
      const conv = conversation('conv_crud', { topic: 'demo "quoted" ✓' });
      await store.createConversation(conv, [message('m_c1', 'hello'), message('m_c2', 'again')]);
      assert.deepEqual(await store.getConversation('conv_crud'), conv);
      assert.deepEqual(await store.getConversationItems('conv_crud'), [message('m_c1', 'hello'), message('m_c2', 'again')]);

      const updated = await store.updateConversation('conv_crud', { topic: 'changed' });
      assert.deepEqual(updated, { ...conv, metadata: { topic: 'changed' } });
      assert.deepEqual(await store.getConversation('conv_crud'), updated);

      assert.equal(await store.deleteConversation('conv_crud'), true);
      assert.equal(await store.getConversation('conv_crud'), null);
      assert.deepEqual(await store.getConversationItems('conv_crud'), []);
      assert.equal(await store.getConversationItem('conv_crud', 'm_c1'), null);
      assert.equal(await store.deleteConversation('conv_crud'), false);
    });

    it('returns null / false / empty for an unknown conversation', async () => {
      assert.equal(await store.getConversation('conv_missing'), null);
      assert.equal(await store.updateConversation('conv_missing', { a: 'b' }), null);
      assert.equal(await store.deleteConversation('conv_missing'), false);
      assert.equal(await store.appendConversationItems('conv_missing', [message('m_x', 'x')]), false);
      assert.equal(await store.getConversationItem('conv_missing', 'm_x'), null, 'nothing was appended');
      assert.deepEqual(await store.getConversationItems('conv_missing'), []);
      assert.deepEqual(await store.listConversationItems('conv_missing', {}), { data: [], first_id: null, last_id: null, has_more: false });
      assert.equal(await store.deleteConversationItem('conv_missing', 'm_x'), false);
    });

    it('appends in order, after the last item, all or nothing', async () => {
      await store.createConversation(conversation('conv_append'), []);
      assert.equal(await store.appendConversationItems('conv_append', [message('m_a1', '1'), message('m_a2', '2')]), true);
      assert.equal(await store.appendConversationItems('conv_append', [message('m_a3', '3')]), true);
      assert.deepEqual(idsOf(await store.getConversationItems('conv_append')), ['m_a1', 'm_a2', 'm_a3']);

      // An id the conversation already holds: the whole append is rejected.
      await assert.rejects(store.appendConversationItems('conv_append', [message('m_a4', '4'), message('m_a1', 'again')]));
      assert.deepEqual(idsOf(await store.getConversationItems('conv_append')), ['m_a1', 'm_a2', 'm_a3']);

      // The same item id in another conversation is fine.
      await store.createConversation(conversation('conv_other'), [message('m_a1', 'elsewhere')]);
      assert.deepEqual(await store.getConversationItem('conv_other', 'm_a1'), message('m_a1', 'elsewhere'));
      assert.deepEqual(await store.getConversationItem('conv_append', 'm_a1'), message('m_a1', '1'));
    });

    it('gets and deletes one item; later items still go after the rest', async () => {
      await store.createConversation(conversation('conv_one'), [message('m_o1', '1'), message('m_o2', '2'), message('m_o3', '3')]);
      assert.deepEqual(await store.getConversationItem('conv_one', 'm_o2'), message('m_o2', '2'));
      assert.equal(await store.deleteConversationItem('conv_one', 'm_o3'), true);
      assert.equal(await store.deleteConversationItem('conv_one', 'm_o3'), false);
      assert.equal(await store.getConversationItem('conv_one', 'm_o3'), null);
      await store.appendConversationItems('conv_one', [message('m_o4', '4')]);
      assert.equal(await store.deleteConversationItem('conv_one', 'm_o1'), true);
      assert.deepEqual(idsOf(await store.getConversationItems('conv_one')), ['m_o2', 'm_o4']);
      assert.deepEqual(idsOf((await store.listConversationItems('conv_one', {})).data), ['m_o4', 'm_o2']);
    });

    it('lets item_reference find a conversation item (response items first)', async () => {
      await store.createConversation(conversation('conv_ref'), [message('m_ref', 'from a conversation')]);
      assert.deepEqual(await store.getItem('m_ref'), message('m_ref', 'from a conversation'));
      assert.equal(await store.getItem('m_ref_missing'), null);
    });

    describe('listConversationItems', () => {
      paginationCases('c', () => ({
        seed: (items) => store.createConversation(conversation('conv_page'), items).then(() => {}),
        list: (query) => store.listConversationItems('conv_page', query),
        foreignId: 'm_a1',
        listMissing: () => store.listConversationItems('conv_missing', {}),
      }));
    });

    it('concurrent appends to one conversation all land, each batch whole and in order', async () => {
      await store.createConversation(conversation('conv_race'), [message('m_r', 'first')]);
      const batches = Array.from({ length: 8 }, (_, b) => [message(`m_r${b}_0`, `${b}`), message(`m_r${b}_1`, `${b}`)]);
      const results = await Promise.all(batches.map((items) => store.appendConversationItems('conv_race', items)));
      assert.deepEqual(results, batches.map(() => true));
      const ids = idsOf(await store.getConversationItems('conv_race'));
      assert.equal(ids.length, 17);
      assert.equal(ids[0], 'm_r');
      for (let b = 0; b < batches.length; b++) assert.equal(ids.indexOf(`m_r${b}_1`), ids.indexOf(`m_r${b}_0`) + 1);
      const page = await store.listConversationItems('conv_race', { order: 'asc', limit: 100 });
      assert.deepEqual(idsOf(page.data), ids);
    });

    it('rejects duplicate item ids within the first items, creating nothing', async () => {
      await assert.rejects(store.createConversation(conversation('conv_dup'), [message('m_d', '1'), message('m_d', '2')]));
      assert.equal(await store.getConversation('conv_dup'), null);
      await store.createConversation(conversation('conv_once'), [message('m_once', '1')]);
      await assert.rejects(store.createConversation(conversation('conv_once'), [message('m_twice', '2')]), 'a conversation id is taken once');
      assert.deepEqual(idsOf(await store.getConversationItems('conv_once')), ['m_once']);
    });
  });

  describe(`${backend.name} store: conversations persist`, () => {
    it('survive close and reopen', async () => {
      const location = await backend.location();
      try {
        const first = await location.open();
        const conv = conversation('conv_keep', { kept: 'yes' });
        await first.createConversation(conv, [message('m_k1', 'one')]);
        await first.appendConversationItems('conv_keep', [message('m_k2', 'two')]);
        await first.updateConversation('conv_keep', { kept: 'still' });
        await first.close();

        const second = await location.open();
        try {
          assert.deepEqual(await second.getConversation('conv_keep'), { ...conv, metadata: { kept: 'still' } });
          assert.deepEqual(await second.getConversationItems('conv_keep'), [message('m_k1', 'one'), message('m_k2', 'two')]);
          await second.appendConversationItems('conv_keep', [message('m_k3', 'three')]);
          assert.deepEqual(idsOf(await second.getConversationItems('conv_keep')), ['m_k1', 'm_k2', 'm_k3']);
        } finally {
          await second.close();
        }
      } finally {
        await location.dispose();
      }
    });
  });
}
