// Decodes one string field of a JSON object as its text streams in, so a custom tool's input
// can be relayed while a model still writes the `{"input": "..."}` arguments of the function it
// was offered instead. Escapes split across chunks (`\`, `\u00`, surrogate pairs) wait for
// the rest; nothing is ever emitted twice.

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export class JsonStringFieldStream {
  private raw = '';
  /** Index in `raw` of the next character of the field's value; -1 while still looking for it. */
  private cursor = -1;
  private done = false;
  private emitted = '';
  private readonly opening: RegExp;

  constructor(private readonly field: string) {
    this.opening = new RegExp(`"${field}"\\s*:\\s*"`);
  }

  /** Feeds more argument text; returns the newly decoded part of the field's value. */
  push(chunk: string): string {
    this.raw += chunk;
    if (this.done) return '';
    if (this.cursor < 0) {
      const match = this.opening.exec(this.raw);
      if (!match) return '';
      this.cursor = match.index + match[0].length;
    }
    let out = '';
    while (this.cursor < this.raw.length) {
      const ch = this.raw[this.cursor];
      if (ch === '"') {
        this.done = true;
        break;
      }
      if (ch !== '\\') {
        out += ch;
        this.cursor++;
        continue;
      }
      const escape = this.decodeEscape(this.cursor);
      if (!escape) break; // incomplete: wait for more text
      out += escape.text;
      this.cursor = escape.next;
    }
    this.emitted += out;
    return out;
  }

  /**
   * The rest of the value once the arguments are complete. If the model did not write the
   * expected object (a bare string, other JSON, plain text), its text is taken as the input.
   */
  finish(): string {
    const value = this.valueOf();
    return value.startsWith(this.emitted) ? value.slice(this.emitted.length) : '';
  }

  private valueOf(): string {
    try {
      const parsed: unknown = JSON.parse(this.raw);
      if (typeof parsed === 'string') return parsed;
      const value = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[this.field] : undefined;
      if (typeof value === 'string') return value;
    } catch {
      // Not JSON: the text itself.
    }
    return this.cursor < 0 ? this.raw : this.emitted;
  }

  private decodeEscape(at: number): { text: string; next: number } | null {
    const kind = this.raw[at + 1];
    if (kind === undefined) return null;
    if (kind !== 'u') return { text: SIMPLE_ESCAPES[kind] ?? kind, next: at + 2 };
    const hex = this.raw.slice(at + 2, at + 6);
    if (hex.length < 4) return null;
    const code = Number.parseInt(hex, 16);
    // A high surrogate waits for its low half so the pair is emitted together.
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = this.raw.slice(at + 6, at + 12);
      if (low.length < 6) return null;
      if (low.startsWith('\\u')) {
        return { text: String.fromCharCode(code, Number.parseInt(low.slice(2), 16)), next: at + 12 };
      }
    }
    return { text: String.fromCharCode(code), next: at + 6 };
  }
}
