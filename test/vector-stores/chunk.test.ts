// Token chunking (static strategy): window sizes, overlap, exact slices of the source text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkText, countTokens } from '../../src/vector-stores/chunk.js';
import { DEFAULT_CHUNKING } from '../../src/vector-stores/chunking.js';

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 97}`).join(' ');

test('windows of at most max tokens, each starting max − overlap tokens after the last', () => {
  const text = words(3000);
  const total = countTokens(text);
  const chunks = chunkText(text, { maxTokens: 200, overlapTokens: 50 });
  for (const c of chunks) assert.ok(countTokens(c) <= 201, `${countTokens(c)} tokens`); // a slice may re-tokenize one token longer at its edge
  assert.equal(chunks.length, Math.ceil((total - 200) / 150) + 1);
  // Consecutive chunks overlap: the end of one is the start of the next.
  for (let i = 1; i < chunks.length; i++) {
    const tail = chunks[i - 1].slice(-100);
    assert.ok(chunks[i].includes(tail.slice(tail.indexOf(' ') + 1, tail.lastIndexOf(' '))), `chunk ${i} overlaps ${i - 1}`);
  }
  assert.ok(text.startsWith(chunks[0]) && text.endsWith(chunks.at(-1)!));
});

test('OpenAI defaults: 800 tokens with 400 overlap; a short text is one chunk, exactly', () => {
  assert.deepEqual(DEFAULT_CHUNKING, { maxTokens: 800, overlapTokens: 400 });
  const short = 'Just a sentence.\n';
  assert.deepEqual(chunkText(short, DEFAULT_CHUNKING), [short]);
  const text = words(2000);
  const chunks = chunkText(text, DEFAULT_CHUNKING);
  assert.equal(chunks.length, Math.ceil((countTokens(text) - 800) / 400) + 1);
});

test('multi-byte characters are never cut, special-token text is plain text, whitespace-only chunks are dropped', () => {
  const text = 'Ünïcödé 東京 🎉 <|endoftext|> '.repeat(400);
  const chunks = chunkText(text, { maxTokens: 100, overlapTokens: 30 });
  for (const c of chunks) {
    assert.ok(!c.includes('\uFFFD'));
    assert.ok(text.includes(c), 'each chunk is a slice of the text');
  }
  assert.deepEqual(chunkText('   \n\n  ', DEFAULT_CHUNKING), []);
  assert.throws(() => chunkText('x', { maxTokens: 100, overlapTokens: 100 }));
});
