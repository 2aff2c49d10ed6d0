// Fetching a web page for web_search (open_page, find_in_page, high search_context_size) and
// turning it into readable text: the outbound guard (src/net/outbound.ts) with a deadline, a size
// cap, at most 5 redirects and a content-type check; HTML goes through Mozilla's Readability on a
// linkedom document, plain text is kept as it is.
import { outboundRequest, type AllowList } from '../../net/outbound.js';

export interface Page {
  /** The URL that was asked for. */
  url: string;
  /** Where it ended up, after redirects. */
  finalUrl: string;
  title: string;
  text: string;
  mediaType: string;
  /** Unix seconds. */
  fetchedAt: number;
}

export interface FetchOptions {
  allow: AllowList;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

const HTML = new Set(['text/html', 'application/xhtml+xml']);
const TEXT = new Set(['text/plain', 'text/markdown', 'text/csv', 'application/json', 'text/xml', 'application/xml']);

/** Largest text kept of a page. */
export const MAX_PAGE_CHARS = 200_000;

export class PageError extends Error {
  override name = 'PageError';
}

export async function fetchPage(url: string, options: FetchOptions): Promise<Page> {
  const res = await outboundRequest(url, {
    allow: options.allow,
    headers: { accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1' },
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
    maxRedirects: 5,
    signal: options.signal,
    acceptContentType: (type) => type === '' || HTML.has(type) || TEXT.has(type),
  });
  if (res.status !== 200) {
    res.close();
    throw new PageError(`${res.url} answered HTTP ${res.status}`);
  }
  const bytes = await res.buffer();
  const contentType = String(res.headers['content-type'] ?? '');
  const isHtml = HTML.has(res.mediaType) || (res.mediaType === '' && /^\s*</.test(bytes.subarray(0, 256).toString('latin1')));
  const source = decode(bytes, contentType, isHtml);
  const { title, text } = isHtml ? await readable(source, res.url) : { title: '', text: source.trim() };
  return {
    url,
    finalUrl: res.url,
    title: title || new URL(res.url).hostname,
    text: text.slice(0, MAX_PAGE_CHARS),
    mediaType: res.mediaType || (isHtml ? 'text/html' : 'text/plain'),
    fetchedAt: Math.floor(Date.now() / 1000),
  };
}

/** Bytes to text by the header's charset, else an HTML `<meta charset>`, else UTF-8. */
function decode(bytes: Buffer, contentType: string, isHtml: boolean): string {
  let charset = contentType.match(/charset\s*=\s*"?([\w.:-]+)/i)?.[1];
  if (!charset && isHtml) charset = bytes.subarray(0, 2048).toString('latin1').match(/<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i)?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * The page's main text (Readability), or its whole body's text when Readability finds no article.
 * The HTML libraries load on first use: a server that never opens a page does not carry them.
 */
async function readable(html: string, url: string): Promise<{ title: string; text: string }> {
  const [{ Readability }, { parseHTML }] = await Promise.all([import('@mozilla/readability'), import('linkedom')]);
  const { document } = parseHTML(html);
  const pageTitle = document.querySelector('title')?.textContent?.trim() ?? '';
  let article: { title?: string | null; content?: string | null } | null = null;
  try {
    setDocumentUrl(document, url);
    article = new Readability(document as unknown as Document, { charThreshold: 200 }).parse();
  } catch {
    article = null;
  }
  if (article?.content) {
    const { document: content } = parseHTML(`<!doctype html><html><body>${article.content}</body></html>`);
    const text = blockText(content.body);
    if (text.length > 0) return { title: article.title?.trim() || pageTitle, text };
  }
  const { document: whole } = parseHTML(html);
  for (const el of whole.querySelectorAll('script, style, noscript, template, svg, nav, header, footer')) el.remove();
  return { title: pageTitle, text: blockText(whole.body ?? whole.documentElement) };
}

/** Readability resolves relative links against the document's URL. */
function setDocumentUrl(document: unknown, url: string): void {
  try {
    Object.defineProperty(document, 'documentURI', { value: url, configurable: true });
    Object.defineProperty(document, 'baseURI', { value: url, configurable: true });
  } catch {
    // a DOM that will not take it: relative links stay relative
  }
}

const BLOCKS = new Set([
  'ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'BR', 'DD', 'DIV', 'DL', 'DT', 'FIELDSET', 'FIGCAPTION', 'FIGURE', 'FOOTER', 'FORM',
  'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HEADER', 'HR', 'LI', 'MAIN', 'NAV', 'OL', 'P', 'PRE', 'SECTION', 'TABLE', 'TD', 'TH', 'TR', 'UL',
]);
const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG']);

interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

/** Text with a line break between blocks, list items marked, whitespace collapsed. */
function blockText(root: unknown): string {
  const out: string[] = [];
  const walk = (node: DomNode) => {
    if (node.nodeType === 3) {
      out.push((node.textContent ?? '').replace(/\s+/g, ' '));
      return;
    }
    if (node.nodeType !== 1 || SKIP.has(node.nodeName)) return;
    const block = BLOCKS.has(node.nodeName);
    if (block) out.push('\n');
    if (node.nodeName === 'LI') out.push('- ');
    if (/^H[1-6]$/.test(node.nodeName)) out.push('#'.repeat(Number(node.nodeName[1])) + ' ');
    for (let i = 0; i < node.childNodes.length; i++) walk(node.childNodes[i]);
    if (block) out.push('\n');
  };
  if (root) walk(root as DomNode);
  return out
    .join('')
    .split('\n')
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Lines of `text` around each case-insensitive occurrence of `pattern`. */
export function findInText(text: string, pattern: string, maxMatches = 20, context = 200): { count: number; excerpts: string[] } {
  const needle = pattern.toLowerCase();
  const haystack = text.toLowerCase();
  const excerpts: string[] = [];
  let count = 0;
  if (!needle) return { count, excerpts };
  let lastEnd = -1;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) {
    count++;
    if (excerpts.length >= maxMatches || at < lastEnd) continue;
    const start = Math.max(0, at - context);
    const end = Math.min(text.length, at + needle.length + context);
    excerpts.push(`${start > 0 ? '…' : ''}${text.slice(start, end).replace(/\s+/g, ' ').trim()}${end < text.length ? '…' : ''}`);
    lastEnd = end;
  }
  return { count, excerpts };
}
