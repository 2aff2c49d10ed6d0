import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonStringFieldStream } from '../../src/tools/json-string-field.js';

/** Feeds `raw` in pieces of `size` characters; returns the deltas and their sum with finish(). */
function decode(raw: string, size: number) {
  const stream = new JsonStringFieldStream('input');
  const deltas: string[] = [];
  for (let i = 0; i < raw.length; i += size) {
    const delta = stream.push(raw.slice(i, i + size));
    if (delta) deltas.push(delta);
  }
  const rest = stream.finish();
  return { deltas, text: deltas.join('') + rest };
}

const tricky = '*** Begin Patch\n*** Add File: a.txt\n+say "hi" \\ 🎉 \u00e9\t\u2028end';

test('every split of the arguments decodes to exactly the value', () => {
  const raw = JSON.stringify({ input: tricky });
  for (const size of [1, 2, 3, 5, 7, 13, raw.length]) {
    assert.equal(decode(raw, size).text, tricky, `chunk size ${size}`);
  }
  // \uXXXX escapes (what some models write for non-ASCII), split everywhere.
  const escaped = raw.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  for (const size of [1, 3, 6, 11]) assert.equal(decode(escaped, size).text, tricky, `escaped, chunk size ${size}`);
});

test('the value streams before the arguments end', () => {
  const { deltas } = decode(JSON.stringify({ input: 'abcdefghij' }), 4);
  assert.ok(deltas.length >= 3, `got ${deltas.length} deltas`);
});

test('other fields before the value are skipped', () => {
  assert.equal(decode('{"note": "x", "input": "the value"}', 3).text, 'the value');
});

test('a model that wrote plain text or a bare JSON string still yields its input', () => {
  assert.equal(decode('just text, no JSON', 4).text, 'just text, no JSON');
  assert.equal(decode('"a bare string"', 4).text, 'a bare string');
});
