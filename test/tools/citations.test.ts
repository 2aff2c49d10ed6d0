// The citation scanner (src/tools/citations.ts) over a recording part: markers split across
// deltas, held-back text, indices into the whole text, and deltas that still add up to it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CitingText, citationKey, markdownLinkCitations, type Annotation, type CitationResolver } from '../../src/tools/citations.js';

function recorder() {
  const deltas: string[] = [];
  const annotations: Array<{ annotation: Annotation; afterDeltas: number }> = [];
  let done = false;
  return {
    deltas,
    annotations,
    get done() {
      return done;
    },
    get text() {
      return deltas.join('');
    },
    delta: (d: string) => void deltas.push(d),
    annotate: (annotation: Annotation) => void annotations.push({ annotation, afterDeltas: deltas.length }),
    finish: () => (done = true),
  };
}

const pages = new Map([[citationKey('https://example.com/otters'), { url: 'https://example.com/otters', title: 'Sea otters' }]]);
const links = markdownLinkCitations((url) => pages.get(citationKey(url)) ?? null);

function run(pieces: string[], resolvers: CitationResolver[] = [links]) {
  const part = recorder();
  const citing = new CitingText({ get text() { return part.text; }, delta: part.delta, annotate: part.annotate, done: part.finish }, resolvers);
  for (const piece of pieces) citing.delta(piece);
  citing.done();
  return part;
}

test('a markdown link to a known page becomes a url_citation over the link, split however it streams', () => {
  const text = 'Otters sleep holding hands ([Sea otters](https://example.com/otters/)). [Other](https://other.example/) is not cited.';
  for (const size of [1, 2, 3, 7, 1000]) {
    const pieces = text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!;
    const part = run(pieces);
    assert.equal(part.text, text, `size ${size}`);
    assert.equal(part.annotations.length, 1);
    const { annotation } = part.annotations[0];
    assert.equal(annotation.type, 'url_citation');
    if (annotation.type !== 'url_citation') return;
    assert.equal(text.slice(annotation.start_index, annotation.end_index), '[Sea otters](https://example.com/otters/)');
    assert.equal(annotation.url, 'https://example.com/otters');
    assert.equal(annotation.title, 'Sea otters');
    // Announced only after the text it points at was sent.
    assert.ok(part.deltas.slice(0, part.annotations[0].afterDeltas).join('').length >= annotation.end_index);
  }
});

test('text that only looks like the start of a link is released', () => {
  const part = run(['a[1] b', ' [x', ' y] (z) [unclosed']);
  assert.equal(part.text, 'a[1] b [x y] (z) [unclosed');
  assert.equal(part.annotations.length, 0);
  // Plain text goes out at once: only a possible marker is held back.
  const held = run(['plain text with no markers']);
  assert.deepEqual(held.deltas, ['plain text with no markers']);
});

test('indices count UTF-16 code units of the whole part, with several citations', () => {
  const text = 'ÄÖ 🦦 [Sea otters](https://example.com/otters) and again [here](https://example.com/otters#x).';
  const part = run(text.split(/(?= )/));
  assert.equal(part.annotations.length, 2);
  for (const { annotation } of part.annotations) {
    if (annotation.type !== 'url_citation') assert.fail('url_citation expected');
    assert.match(text.slice(annotation.start_index, annotation.end_index), /^\[[^\]]+\]\(https:\/\/example\.com\/otters(#x)?\)$/);
  }
});

test('a resolver may replace its marker (the general mechanism file citations use)', () => {
  const fileMarkers: CitationResolver = {
    openers: '【',
    match(text, final) {
      const m = text.match(/^【(\d+)†source】/);
      if (m) return { length: m[0].length, text: '', annotations: (start) => [{ type: 'file_citation', file_id: `file-${m[1]}`, filename: 'a.txt', index: start }] };
      return !final && !text.includes('】') && text.length < 20 ? 'more' : null;
    },
  };
  const part = run(['See the manual', '【4†sou', 'rce】.'], [fileMarkers, links]);
  assert.equal(part.text, 'See the manual.');
  assert.deepEqual(part.annotations.map((a) => a.annotation), [{ type: 'file_citation', file_id: 'file-4', filename: 'a.txt', index: 14 }]);
});
