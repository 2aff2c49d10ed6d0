// Citations: the one place that scans streamed answer text for citation markers and turns them
// into annotations (`response.output_text.annotation.added`, while the text streams).
//
// Each built-in tool that can be cited gives a CitationResolver for the markers it understands
// (web_search: markdown links to the pages it found; file_search: its own markers). The step
// wraps every output_text part in a CitingText when the request has resolvers: plain text passes
// straight through; text that may be the start of a marker is held back (at most `maxHold`
// characters) until it is known; a complete marker is replaced by the text its resolver gives
// (the same text, for a markdown link), and its annotations follow the delta that carries it,
// with indices into the part's whole text. What the client sees still obeys "deltas = done".
//
// Indices are UTF-16 code units (JavaScript string indices), end exclusive:
// `text.slice(start_index, end_index)` is the cited span.
import type { ResponseOutputText } from '../protocol/types.js';

export type Annotation = ResponseOutputText['annotations'][number];

export interface CitationMatch {
  /** How many characters of the scanned text the marker takes. */
  length: number;
  /** What the client sees in its place. */
  text: string;
  /**
   * The annotations for that text, which begins at `start` and ends before `end` in the part:
   * each complete, or pending (its target is still being resolved, asynchronously).
   */
  annotations(start: number, end: number): Array<Annotation | PendingAnnotation>;
}

/** An annotation whose target is still being resolved (two-phase annotations, DESIGN.md). */
export interface PendingAnnotation {
  readonly pending: true;
  /** The annotation as far as it is known now: at least `type` and its position fields. */
  readonly known: { type: Annotation['type']; [field: string]: unknown };
  /** The complete annotation; rejects with the reason when the target cannot be resolved. */
  readonly resolved: Promise<Annotation>;
}

/** A pending annotation; `resolve` starts at once (the marker has just been seen). */
export function pendingAnnotation(known: PendingAnnotation['known'], resolve: () => Promise<Annotation>): PendingAnnotation {
  const resolved = resolve();
  resolved.catch(() => undefined); // handled where it is awaited; never an unhandled rejection
  return { pending: true, known, resolved };
}

const isPending = (a: Annotation | PendingAnnotation): a is PendingAnnotation => (a as PendingAnnotation).pending === true;

export interface CitationResolver {
  /** The characters its markers begin with. */
  readonly openers: string;
  /**
   * Looks at `text`, which begins with one of `openers` and runs to the end of what has streamed:
   * a match; `'more'` when more text could still make it one (not asked when `final`); or null.
   */
  match(text: string, final: boolean): CitationMatch | 'more' | null;
}

/** The part of an output_text writer that citations need (TextPartWriter has it). */
export interface AnnotatablePart {
  readonly text: string;
  /** False once the part is done (TextPartWriter has it; a part without it counts as open). */
  readonly isOpen?: boolean;
  delta(delta: string): void;
  annotate(annotation: Annotation): void;
  /** Announces a pending annotation (TextPartWriter: `annotation.queued`, when opted in). */
  queueAnnotation?(known: PendingAnnotation['known']): void;
  done(): void;
}

export interface CitingOptions {
  /** How long the part's done waits for annotations still being resolved; then they are dropped. */
  timeoutMs?: number;
  /** An annotation that could not be resolved (or not in time) and was dropped, with why. */
  onDrop?: (known: PendingAnnotation['known'], reason: string) => void;
}

/** How long output_text.done waits for pending annotations by default. */
export const CITATION_TIMEOUT_MS = 10_000;

/** `part` itself when nothing can be cited, else a CitingText around it. */
export function citing<T extends AnnotatablePart>(part: T, resolvers: readonly CitationResolver[] | undefined, options: CitingOptions = {}): T | CitingText {
  return resolvers?.length ? new CitingText(part, resolvers, options) : part;
}

/**
 * Two-phase annotations. Annotations are added in the order of their markers. A pending one is
 * announced (`annotation.queued`, if the response opted in) when it reaches the head of the
 * part's queue, with the index it will get: the next one. While it is unsettled nothing else is
 * added or queued in that part (text keeps streaming), so no index is ever skipped: when it
 * resolves it is added at that index; when it cannot be resolved it is dropped, and the next
 * annotation is queued or added at the same index. So a client sees, per part, indices 0, 1, 2…
 * on `added`; a `queued` index that is queued again, or has no `added` before
 * `output_text.done`, was dropped. `done` waits for the queue (bounded by `timeoutMs`).
 */
export class CitingText {
  private held = '';
  private readonly openers: string;
  private readonly queue: Array<Annotation | PendingAnnotation> = [];
  /** The queued annotation being waited for; null when none. */
  private waiting: PendingAnnotation | null = null;
  private idle: Array<() => void> = [];

  constructor(
    private readonly part: AnnotatablePart,
    private readonly resolvers: readonly CitationResolver[],
    private readonly options: CitingOptions = {},
    private readonly maxHold = 2048,
  ) {
    this.openers = [...new Set(resolvers.flatMap((r) => [...r.openers]))].join('');
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.held += delta;
    this.scan(false);
  }

  /** Ends the part: at once, or (a promise) once its pending annotations are settled or timed out. */
  done(): void | Promise<void> {
    this.scan(true);
    if (!this.waiting && this.queue.length === 0) return this.part.done();
    return this.settle().then(() => this.part.done());
  }

  private async settle(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idle.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.options.timeoutMs ?? CITATION_TIMEOUT_MS)));
    const settled = await Promise.race([idle, timeout]);
    clearTimeout(timer);
    if (settled) return;
    const reason = 'its target was not resolved before the text ended (timeout)';
    if (this.waiting) this.drop(this.waiting.known, reason);
    for (const a of this.queue.splice(0)) if (isPending(a)) this.drop(a.known, reason);
    this.waiting = null;
  }

  private add(annotation: Annotation | PendingAnnotation): void {
    this.queue.push(annotation);
    this.drain();
  }

  private drain(): void {
    while (!this.waiting && this.queue.length > 0) {
      const next = this.queue.shift()!;
      if (this.part.isOpen === false) {
        if (isPending(next)) this.drop(next.known, 'the text part ended first');
        continue;
      }
      if (!isPending(next)) {
        this.part.annotate(next);
        continue;
      }
      this.part.queueAnnotation?.(next.known);
      this.waiting = next;
      next.resolved.then(
        (annotation) => this.settled(next, annotation, null),
        (error: unknown) => this.settled(next, null, error instanceof Error ? error.message : String(error)),
      );
    }
    if (!this.waiting && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private settled(pending: PendingAnnotation, annotation: Annotation | null, reason: string | null): void {
    if (this.waiting !== pending) return; // timed out and dropped already
    this.waiting = null;
    if (annotation && this.part.isOpen !== false) this.part.annotate(annotation);
    else this.drop(pending.known, reason ?? 'the text part ended first');
    this.drain();
  }

  private drop(known: PendingAnnotation['known'], reason: string): void {
    this.options.onDrop?.(known, reason);
  }

  private scan(final: boolean): void {
    const text = this.held;
    let plain = '';
    let i = 0;
    while (i < text.length) {
      const at = this.nextOpener(text, i);
      if (at < 0) {
        plain += text.slice(i);
        i = text.length;
        break;
      }
      plain += text.slice(i, at);
      i = at;
      const rest = text.slice(at);
      let wait = false;
      let found: CitationMatch | null = null;
      for (const resolver of this.resolvers) {
        if (!resolver.openers.includes(text[at])) continue;
        const m = resolver.match(rest, final);
        if (m === 'more') {
          if (!final && rest.length < this.maxHold) wait = true;
        } else if (m) {
          found = m;
          break;
        }
      }
      if (found) {
        this.emit(plain);
        plain = '';
        const start = this.part.text.length;
        this.emit(found.text);
        for (const annotation of found.annotations(start, start + found.text.length)) this.add(annotation);
        i += Math.max(1, found.length);
      } else if (wait) {
        break;
      } else {
        plain += text[at];
        i++;
      }
    }
    this.emit(plain);
    this.held = text.slice(i);
  }

  private emit(text: string): void {
    if (text) this.part.delta(text);
  }

  private nextOpener(text: string, from: number): number {
    for (let i = from; i < text.length; i++) if (this.openers.includes(text[i])) return i;
    return -1;
  }
}

// Markdown links ----------------------------------------------------------------------------------

export interface CitedPage {
  url: string;
  title: string;
}

const MAX_LABEL = 400;
const MAX_URL = 2048;

/**
 * Markdown links `[label](url)` whose URL `lookup` knows become `url_citation` annotations over
 * the whole link; the text stays as the model wrote it. Other links stay plain text. A lookup
 * that gives a promise (the page's title is still being fetched) makes the annotation pending;
 * if the promise rejects, the citation is dropped.
 */
export function markdownLinkCitations(lookup: (url: string) => CitedPage | Promise<CitedPage> | null): CitationResolver {
  return {
    openers: '[',
    match(text, final) {
      const link = parseLink(text);
      if (link === 'more') return final ? null : 'more';
      if (!link) return null;
      const page = lookup(link.url);
      if (!page) return null;
      return {
        length: link.length,
        text: text.slice(0, link.length),
        annotations: (start, end) => [
          page instanceof Promise
            ? pendingAnnotation({ type: 'url_citation', url: link.url, start_index: start, end_index: end }, async () => {
                const { url, title } = await page;
                return { type: 'url_citation', url, title, start_index: start, end_index: end };
              })
            : { type: 'url_citation', url: page.url, title: page.title, start_index: start, end_index: end },
        ],
      };
    },
  };
}

/** `[label](url)` at the start of `text`; 'more' while it is incomplete but still possible. */
function parseLink(text: string): { url: string; length: number } | 'more' | null {
  let i = 1;
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || i > MAX_LABEL) return null;
    if (c === '[') depth++;
    else if (c === ']') {
      if (depth === 0) break;
      depth--;
    }
  }
  if (i >= text.length) return 'more';
  i++; // past ']'
  if (i >= text.length) return 'more';
  if (text[i] !== '(') return null;
  const urlStart = ++i;
  let parens = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c) || i - urlStart > MAX_URL) return null;
    if (c === '(') parens++;
    else if (c === ')') {
      if (parens === 0) break;
      parens--;
    }
  }
  if (i >= text.length) return 'more';
  const url = text.slice(urlStart, i).replace(/^<(.*)>$/, '$1');
  if (!/^https?:\/\//i.test(url)) return null;
  return { url, length: i + 1 };
}

/** A URL as citations compare it: no fragment, no trailing slash on the path, lower-case host. */
export function citationKey(url: string): string {
  try {
    const u = new URL(url);
    u.hash = '';
    const path = u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.host.toLowerCase()}${path}${u.search}`;
  } catch {
    return url;
  }
}
