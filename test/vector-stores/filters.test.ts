// Attribute filters: every comparison, compound filters, missing attributes, and the errors a
// malformed filter gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../src/protocol/errors.js';
import { matches, parseAttributes, parseFilter, type Attributes } from '../../src/vector-stores/filters.js';

const doc: Attributes = { author: 'ada', year: 2021, draft: false, date: '2024-03-01' };
const f = (filter: unknown) => matches(parseFilter(filter, 'filters'), doc);

test('comparisons', () => {
  assert.equal(f({ type: 'eq', key: 'author', value: 'ada' }), true);
  assert.equal(f({ type: 'eq', key: 'year', value: '2021' }), false, 'no type coercion');
  assert.equal(f({ type: 'ne', key: 'author', value: 'bob' }), true);
  assert.equal(f({ type: 'gt', key: 'year', value: 2020 }), true);
  assert.equal(f({ type: 'gte', key: 'year', value: 2021 }), true);
  assert.equal(f({ type: 'lt', key: 'year', value: 2021 }), false);
  assert.equal(f({ type: 'lte', key: 'year', value: 2021 }), true);
  assert.equal(f({ type: 'gt', key: 'date', value: '2024-01-01' }), true, 'ISO dates compare as strings');
  assert.equal(f({ type: 'gt', key: 'year', value: '2020' }), false, 'a number never orders against a string');
  assert.equal(f({ type: 'in', key: 'author', value: ['ada', 'bob'] }), true);
  assert.equal(f({ type: 'nin', key: 'year', value: [2020, 2021] }), false);
  assert.equal(f({ type: 'eq', key: 'draft', value: false }), true);
});

test('missing attributes pass only ne and nin', () => {
  for (const type of ['eq', 'gt', 'gte', 'lt', 'lte']) assert.equal(f({ type, key: 'missing', value: 1 }), false, type);
  assert.equal(f({ type: 'ne', key: 'missing', value: 1 }), true);
  assert.equal(f({ type: 'in', key: 'missing', value: [1] }), false);
  assert.equal(f({ type: 'nin', key: 'missing', value: [1] }), true);
  assert.equal(matches(parseFilter({ type: 'eq', key: 'a', value: 1 }, 'filters'), null), false);
});

test('and / or nest', () => {
  assert.equal(f({ type: 'and', filters: [{ type: 'eq', key: 'author', value: 'ada' }, { type: 'or', filters: [{ type: 'lt', key: 'year', value: 2000 }, { type: 'eq', key: 'draft', value: false }] }] }), true);
  assert.equal(f({ type: 'or', filters: [] }), false);
  assert.equal(f({ type: 'and', filters: [] }), true);
});

test('malformed filters and attributes name the field', () => {
  const param = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 400);
      return error.param;
    }
    assert.fail('expected an error');
  };
  assert.equal(param(() => parseFilter({ type: 'like', key: 'a', value: 1 }, 'filters')), 'filters.type');
  assert.equal(param(() => parseFilter({ type: 'in', key: 'a', value: 'x' }, 'filters')), 'filters.value');
  assert.equal(param(() => parseFilter({ type: 'or', filters: [{ type: 'eq', value: 1 }] }, 'tools[0].filters')), 'tools[0].filters.filters[0].key');
  assert.equal(param(() => parseAttributes({ a: { nested: true } })), 'attributes.a');
  assert.equal(param(() => parseAttributes({ a: 'x'.repeat(513) })), 'attributes.a');
  assert.equal(param(() => parseAttributes(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])))), 'attributes');
  assert.deepEqual(parseAttributes({ a: 1, b: 'x', c: true }), { a: 1, b: 'x', c: true });
  assert.equal(parseAttributes(null), null);
});
