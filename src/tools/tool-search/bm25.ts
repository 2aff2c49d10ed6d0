// Okapi BM25 over small in-memory documents (tool names and descriptions): deterministic, no
// index to keep. Identifiers are split into words (`list_open_orders`, `getShippingEta`), so a
// query in plain words finds the tools named in code style.

const K1 = 1.2;
const B = 0.75;

const STOP_WORDS = new Set(['a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'for', 'from', 'in', 'is', 'it', 'of', 'on', 'or', 'the', 'this', 'to', 'with']);

/** Lower-case words of `text`, identifiers split, stop words dropped, a plural `s` removed. */
export function terms(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0 && !STOP_WORDS.has(word))
    .map((word) => (word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word));
}

export class Bm25<T> {
  private readonly docs: { item: T; counts: Map<string, number>; length: number }[];
  private readonly documentFrequency = new Map<string, number>();
  private readonly averageLength: number;

  /** `text`: the document's words (terms()); repeat a field's words to weigh it more. */
  constructor(documents: readonly { item: T; text: readonly string[] }[]) {
    this.docs = documents.map(({ item, text }) => {
      const counts = new Map<string, number>();
      for (const term of text) counts.set(term, (counts.get(term) ?? 0) + 1);
      for (const term of counts.keys()) this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
      return { item, counts, length: text.length };
    });
    this.averageLength = this.docs.reduce((sum, doc) => sum + doc.length, 0) / Math.max(1, this.docs.length);
  }

  /**
   * The best `limit` documents, best first (ties keep document order), that score at least
   * `relative` times the best score: a word shared by chance does not bring in a weak match.
   */
  search(query: string, limit: number, relative = 0.5): T[] {
    const queryTerms = [...new Set(terms(query))];
    const n = this.docs.length;
    return this.docs
      .map((doc, index) => {
        let score = 0;
        for (const term of queryTerms) {
          const tf = doc.counts.get(term);
          if (!tf) continue;
          const df = this.documentFrequency.get(term) ?? 0;
          const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
          score += (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * doc.length) / (this.averageLength || 1)));
        }
        return { item: doc.item, score, index };
      })
      .filter((hit) => hit.score > 0)
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .filter((hit, _, hits) => hit.score >= hits[0].score * relative)
      .slice(0, limit)
      .map((hit) => hit.item);
  }
}
