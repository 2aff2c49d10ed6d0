// file_search's citation markers through the shared scanner (src/tools/citations.ts): 【file-id】
// (and OpenAI's 【n:m†name】 form) becomes a file_citation at the marker's place, the marker
// leaves the text, and the deltas still add up to the text however the marker is split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CitingText, type Annotation } from '../../src/tools/citations.js';
import { fileCitations } from '../../src/tools/file-search/tool.js';

const files = new Map([
  ['file-AAA111', 'notes.txt'],
  ['file-BBB222', 'report.pdf'],
]);
const resolver = fileCitations((name) => {
  if (files.has(name)) return { fileId: name, filename: files.get(name)! };
  const byName = [...files].find(([, filename]) => filename === name);
  return byName ? { fileId: byName[0], filename: name } : null;
});

function run(pieces: string[]) {
  const deltas: string[] = [];
  const annotations: Annotation[] = [];
  const part = { get text() { return deltas.join(''); }, delta: (d: string) => void deltas.push(d), annotate: (a: Annotation) => void annotations.push(a), done: () => {} };
  const citing = new CitingText(part, [resolver]);
  for (const p of pieces) citing.delta(p);
  citing.done();
  return { text: deltas.join(''), annotations };
}

const split = (text: string, size: number) => text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!;

test('markers become file citations at their place, however the text streams', () => {
  const source = 'Otters hold hands【file-AAA111】. Revenue grew【4:0†report.pdf】 and【file-ZZZ】 stays.';
  const expected = {
    text: 'Otters hold hands. Revenue grew and【file-ZZZ】 stays.',
    annotations: [
      { type: 'file_citation', file_id: 'file-AAA111', filename: 'notes.txt', index: 'Otters hold hands'.length },
      { type: 'file_citation', file_id: 'file-BBB222', filename: 'report.pdf', index: 'Otters hold hands. Revenue grew'.length },
    ],
  };
  for (const size of [1, 2, 3, 5, 8, 13, 1000]) assert.deepEqual(run(split(source, size)), expected, `pieces of ${size}`);
});

test('an unclosed or overlong marker is plain text', () => {
  assert.deepEqual(run(['Dangling 【file-AAA111 and on']), { text: 'Dangling 【file-AAA111 and on', annotations: [] });
  const long = `【${'x'.repeat(300)}】`;
  assert.deepEqual(run([long]).text, long);
  assert.deepEqual(run(['a【b\n', 'c】']).text, 'a【b\nc】');
});
