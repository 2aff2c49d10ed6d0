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
  /** The annotations for that text, which begins at `start` and ends before `end` in the part. */
  annotations(start: number, end: number): Annotation[];
}

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
  delta(delta: string): void;
  annotate(annotation: Annotation): void;
  done(): void;
}

/** `part` itself when nothing can be cited, else a CitingText around it. */
export function citing<T extends AnnotatablePart>(part: T, resolvers: readonly CitationResolver[] | undefined): T | CitingText {
  return resolvers?.length ? new CitingText(part, resolvers) : part;
}

export class CitingText {
  private held = '';
  private readonly openers: string;

  constructor(
    private readonly part: AnnotatablePart,
    private readonly resolvers: readonly CitationResolver[],
    private readonly maxHold = 2048,
  ) {
    this.openers = [...new Set(resolvers.flatMap((r) => [...r.openers]))].join('');
  }

  delta(delta: string): void {
    if (delta === '') return;
    this.held += delta;
    this.scan(false);
  }

  done(): void {
    this.scan(true);
    this.part.done();
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
        for (const annotation of found.annotations(start, start + found.text.length)) this.part.annotate(annotation);
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
 * the whole link; the text stays as the model wrote it. Other links stay plain text.
 */
export function markdownLinkCitations(lookup: (url: string) => CitedPage | null): CitationResolver {
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
        annotations: (start, end) => [{ type: 'url_citation', url: page.url, title: page.title, start_index: start, end_index: end }],
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
