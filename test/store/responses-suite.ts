// The response half of the Store contract, run against every backend (sqlite.test.ts,
// postgres.test.ts): round trips, pagination edge cases, item lookup, atomic writes, restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResponseObject, StoredItem } from '../../src/protocol/types.js';
import type { Store } from '../../src/store/types.js';
import { paginationCases } from './pagination-suite.js';
import { freshStore, type StoreBackend } from './backends.js';

export function makeResponse(id: string, overrides: Partial<ResponseObject> = {}): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: 1_700_000_000,
    status: 'in_progress',
    model: 'scripted',
    output: [],
    previous_response_id: null,
    usage: null,
    metadata: { note: 'héllo "quoted" \u2603 \n newline', nested: '{"a":1}' },
    ...overrides,
  } as unknown as ResponseObject;
}

export function message(id: string, text: string): StoredItem {
  return { id, type: 'message', role: 'user', content: [{ type: 'input_text', text }] };
}

export function outputMessage(id: string, text: string) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text, annotations: [] }],
  };
}

export function finished(id: string, output: unknown[]): ResponseObject {
  return makeResponse(id, {
    status: 'completed',
    output: output as ResponseObject['output'],
    // Cast: the SDK's usage type grows fields between versions; the store only round-trips it.
    usage: {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 12,
    } as ResponseObject['usage'],
  });
}

export function responseStoreSuite(backend: StoreBackend): void {
  describe(`${backend.name} store`, () => {
    let store: Store;
    let dispose: (() => Promise<void>) | undefined;

    before(async () => ({ store, dispose } = await freshStore(backend)));
    after(() => dispose?.());

    it('round-trips create, get and finish', async () => {
      const inputs = [message('msg_in_1', 'hi'), message('msg_in_2', 'there')];
      await store.createResponse(makeResponse('resp_rt'), inputs);

      const started = await store.getResponse('resp_rt');
      assert.equal(started?.status, 'in_progress');
      assert.deepEqual(started?.output, []);
      assert.deepEqual(await store.getInputItems('resp_rt'), inputs);

      const final = finished('resp_rt', [outputMessage('msg_out_1', 'hello!')]);
      await store.finishResponse(final);
      assert.deepEqual(await store.getResponse('resp_rt'), final);
      assert.deepEqual(await store.getInputItems('resp_rt'), inputs, 'input items are untouched by finish');
    });

    it('preserves JSON exactly, including unicode, nulls and nesting', async () => {
      const response = makeResponse('resp_json', {
        previous_response_id: 'resp_prev',
        instructions: 'Be brief.\u0000 ✓',
        temperature: 0.7,
      });
      const weird: StoredItem = {
        id: 'fc_1',
        type: 'function_call_output',
        call_id: 'call_1',
        output: JSON.stringify({ deep: [1, 2.5, null, { x: 'ÿ' }] }),
        extra: { a: [true, false, null], emoji: '🦜' },
      };
      await store.createResponse(response, [weird]);
      assert.deepEqual(await store.getResponse('resp_json'), response);
      assert.deepEqual(await store.getItem('fc_1'), weird);
    });

    it('returns null / empty for unknown ids', async () => {
      assert.equal(await store.getResponse('resp_missing'), null);
      assert.equal(await store.getItem('msg_missing'), null);
      assert.deepEqual(await store.getInputItems('resp_missing'), []);
      assert.equal(await store.deleteResponse('resp_missing'), false);
      await assert.rejects(store.finishResponse(finished('resp_missing', [])));
    });

    describe('listInputItems', () => {
      paginationCases('i', () => ({
        seed: (items) => store.createResponse(makeResponse('resp_page'), items),
        list: (query) => store.listInputItems('resp_page', query),
        foreignId: 'msg_in_1',
        listMissing: () => store.listInputItems('resp_missing', {}),
      }));
    });

    it('finds input and output items by id, the newest if an id repeats', async () => {
      await store.createResponse(makeResponse('resp_items'), [message('msg_a', 'question')]);
      await store.finishResponse(finished('resp_items', [outputMessage('msg_b', 'answer')]));
      assert.deepEqual(await store.getItem('msg_a'), message('msg_a', 'question'));
      assert.deepEqual(await store.getItem('msg_b'), outputMessage('msg_b', 'answer'));

      // A later response carrying the same item id (e.g. re-sent as input) wins.
      await store.createResponse(makeResponse('resp_items_2'), [message('msg_a', 'edited')]);
      assert.deepEqual(await store.getItem('msg_a'), message('msg_a', 'edited'));
      await store.deleteResponse('resp_items_2');
      assert.deepEqual(await store.getItem('msg_a'), message('msg_a', 'question'));
    });

    it('finishResponse twice replaces output items instead of duplicating them', async () => {
      await store.createResponse(makeResponse('resp_twice'), [message('msg_t_in', 'q')]);
      await store.finishResponse(finished('resp_twice', [outputMessage('msg_t1', 'first'), outputMessage('msg_t2', 'x')]));
      const final = finished('resp_twice', [outputMessage('msg_t1', 'second')]);
      await store.finishResponse(final);

      assert.deepEqual(await store.getResponse('resp_twice'), final);
      assert.deepEqual(await store.getItem('msg_t1'), outputMessage('msg_t1', 'second'));
      assert.equal(await store.getItem('msg_t2'), null, 'output items of the first finish are gone');
      assert.deepEqual(await store.getInputItems('resp_twice'), [message('msg_t_in', 'q')]);
    });

    it('deletes a response together with its items', async () => {
      await store.createResponse(makeResponse('resp_del'), [message('msg_del_in', 'bye')]);
      await store.finishResponse(finished('resp_del', [outputMessage('msg_del_out', 'ok')]));
      assert.equal(await store.deleteResponse('resp_del'), true);
      assert.equal(await store.getResponse('resp_del'), null);
      assert.equal(await store.getItem('msg_del_in'), null);
      assert.equal(await store.getItem('msg_del_out'), null);
      assert.deepEqual(await store.getInputItems('resp_del'), []);
      assert.equal(await store.deleteResponse('resp_del'), false);
    });

    it('rejects creating the same response id twice', async () => {
      await store.createResponse(makeResponse('resp_dup'), [message('msg_dup', 'a')]);
      await assert.rejects(store.createResponse(makeResponse('resp_dup'), [message('msg_dup_2', 'b')]));
      // The failed create rolled back as a whole.
      assert.equal(await store.getItem('msg_dup_2'), null);
    });

    it('one failing write among concurrent ones fails alone', async () => {
      await store.createResponse(makeResponse('resp_conc_a'), []);
      const results = await Promise.allSettled([
        store.createResponse(makeResponse('resp_conc_b'), [message('msg_conc_b', 'b')]),
        store.createResponse(makeResponse('resp_conc_a'), [message('msg_conc_a2', 'dup')]), // a duplicate id: rejected
        store.finishResponse(finished('resp_conc_a', [outputMessage('msg_conc_a_out', 'done')])),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal((await store.getResponse('resp_conc_b'))?.id, 'resp_conc_b');
      assert.deepEqual(await store.getItem('msg_conc_b'), message('msg_conc_b', 'b'));
      assert.equal(await store.getItem('msg_conc_a2'), null);
      assert.equal((await store.getResponse('resp_conc_a'))?.status, 'completed');
    });

    it('round-trips NUL characters and lone surrogates anywhere in a value', async () => {
      const odd = 'nul \u0000 end, lone \ud800 and \udfff, pair \ud83e\udd9c, backslash-u \\u0000';
      const response = makeResponse('resp_odd', { instructions: odd, metadata: { [`k${odd}`]: odd } });
      const item: StoredItem = { id: 'msg_odd', type: 'message', role: 'user', content: [{ type: 'input_text', text: odd }] };
      await store.createResponse(response, [item]);
      assert.deepEqual(await store.getResponse('resp_odd'), response);
      assert.deepEqual(await store.getInputItems('resp_odd'), [item]);
      assert.deepEqual((await store.listInputItems('resp_odd', {})).data, [item]);
      assert.deepEqual(await store.getItem('msg_odd'), item);
      const final = finished('resp_odd', [outputMessage('msg_odd_out', odd)]);
      await store.finishResponse(final);
      assert.deepEqual(await store.getResponse('resp_odd'), final);
      assert.deepEqual(await store.getItem('msg_odd_out'), outputMessage('msg_odd_out', odd));
    });
  });

  describe(`${backend.name} store persistence`, () => {
    it('keeps data across close and reopen of the same location', async () => {
      const location = await backend.location();
      try {
        const first = await location.open();
        const final = finished('resp_keep', [outputMessage('msg_keep_out', 'kept')]);
        await first.createResponse(makeResponse('resp_keep'), [message('msg_keep_in', 'keep me')]);
        await first.finishResponse(final);
        await first.close();

        const second = await location.open();
        try {
          assert.deepEqual(await second.getResponse('resp_keep'), final);
          assert.deepEqual(await second.getInputItems('resp_keep'), [message('msg_keep_in', 'keep me')]);
          assert.deepEqual(await second.getItem('msg_keep_out'), outputMessage('msg_keep_out', 'kept'));
        } finally {
          await second.close();
        }
      } finally {
        await location.dispose();
      }
    });
  });
}
