// CitingText with pending annotations: marker order, one queued at a time, drops keep indices
// dense, and done waits (bounded) for what is pending.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CitingText, pendingAnnotation, type Annotation, type CitationResolver } from '../../src/tools/citations.js';

function fakePart() {
  const log: string[] = [];
  const part = {
    text: '',
    isOpen: true,
    annotations: [] as Annotation[],
    delta(d: string) {
      part.text += d;
    },
    annotate(a: Annotation) {
      log.push(`added ${part.annotations.length} ${(a as { url: string }).url}`);
      part.annotations.push(a);
    },
    queueAnnotation(known: { type: string; url?: unknown }) {
      log.push(`queued ${part.annotations.length} ${String(known.url)}`);
    },
    done() {
      log.push('done');
      part.isOpen = false;
    },
  };
  return { part, log };
}

/** `<name>` markers: `ok*` resolve, `bad*` reject, `never*` never settle, `sync*` are complete at once. */
const resolver: CitationResolver = {
  openers: '<',
  match(text) {
    const end = text.indexOf('>');
    if (end < 0) return 'more';
    const url = text.slice(1, end);
    const full = (start: number): Annotation => ({ type: 'url_citation', url, title: url, start_index: start, end_index: start });
    return {
      length: end + 1,
      text: '',
      annotations: (start) => [
        url.startsWith('sync')
          ? full(start)
          : pendingAnnotation({ type: 'url_citation', url, start_index: start, end_index: start }, () =>
              url.startsWith('ok') ? Promise.resolve(full(start)) : url.startsWith('bad') ? Promise.reject(new Error('404')) : new Promise<never>(() => {}),
            ),
      ],
    };
  },
};

test('a dropped annotation leaves no gap: the next one is queued at its index', async () => {
  const { part, log } = fakePart();
  const drops: string[] = [];
  const citing = new CitingText(part, [resolver], { onDrop: (known, reason) => drops.push(`${String(known.url)}: ${reason}`) });
  citing.delta('a<ok1> b<bad> c<sync> d<ok2>.');
  await citing.done();
  assert.deepEqual(log, ['queued 0 ok1', 'added 0 ok1', 'queued 1 bad', 'added 1 sync', 'queued 2 ok2', 'added 2 ok2', 'done']);
  assert.deepEqual(drops, ['bad: 404']);
  assert.deepEqual(part.annotations.map((a) => (a as { url: string }).url), ['ok1', 'sync', 'ok2']);
});

test('done waits for pending annotations at most timeoutMs, then drops them', async () => {
  const { part, log } = fakePart();
  const drops: string[] = [];
  const citing = new CitingText(part, [resolver], { timeoutMs: 30, onDrop: (known) => drops.push(String(known.url)) });
  citing.delta('x<never> y<ok3>');
  const ending = citing.done();
  assert.ok(ending instanceof Promise);
  assert.ok(!log.includes('done'));
  await ending;
  assert.deepEqual(log, ['queued 0 never', 'done']);
  assert.deepEqual(drops, ['never', 'ok3']);
  assert.equal(part.annotations.length, 0);
});
