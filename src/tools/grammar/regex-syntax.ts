// Regular expressions in the syntax of Rust's `regex` crate (https://docs.rs/regex/latest/regex/#syntax),
// which is what OpenAI's custom tool grammars use, both for `syntax: "regex"` and inside Lark
// terminals. Parsed here into a small AST that nfa.ts runs in linear time: a grammar comes from
// a client and the input from a model, so a backtracking engine (JavaScript's RegExp) could be
// made to hang the server.
//
// Supported, as Rust has it: literals and escapes (\n \t \x7F \x{…} \u{…} \U…, escaped
// punctuation), `.`, classes with ranges, negation, nesting, `&&` `--` `~~` and [:alpha:]-style
// ASCII classes, \d \s \w (Unicode unless `u` is off) and their negations, \p{…} \P{…} Unicode
// classes (general categories, scripts, binary properties), groups `(…)` `(?:…)` `(?P<n>…)`
// `(?<n>…)`, inline flags `(?imsxuUR)` / `(?i:…)` / `(?-i)`, repetition `* + ? {n} {n,} {n,m}`
// (lazy forms where allowed), `^ $ \A \z \b \B \< \> \b{start} \b{end}` and the half forms.
// Not supported (Rust has none of them either): look-around, backreferences, possessive
// repetition, `\Z`. Case-insensitive matching uses simple case mapping (toLowerCase/toUpperCase
// of one code point), close to but not exactly Unicode simple case folding.

export type CharTest = (cp: number) => boolean;
export type AssertTest = (input: readonly number[], pos: number) => boolean;

export type RegexNode =
  | { type: 'empty' }
  | { type: 'char'; test: CharTest }
  | { type: 'seq'; items: RegexNode[] }
  | { type: 'alt'; items: RegexNode[] }
  | { type: 'repeat'; node: RegexNode; min: number; max: number }
  | { type: 'assert'; test: AssertTest };

export class RegexSyntaxError extends Error {
  constructor(
    message: string,
    /** Index (in characters) in the pattern. */
    readonly offset: number,
  ) {
    super(`${message} (at offset ${offset} of the pattern)`);
  }
}

export interface RegexFlags {
  /** case-insensitive */
  i: boolean;
  /** ^ and $ match at line boundaries */
  m: boolean;
  /** . matches \n */
  s: boolean;
  /** verbose: whitespace and # comments are ignored */
  x: boolean;
  /** Unicode-aware \d \s \w and classes (on by default) */
  u: boolean;
  /** swap greedy and lazy (changes no match here) */
  U: boolean;
  /** CRLF mode: \r is a line terminator too */
  R: boolean;
}

export interface RegexOptions {
  flags?: Partial<RegexFlags>;
  /** Lark terminals refuse lazy repetition (OpenAI: "lazy modifiers are not supported"). */
  rejectLazy?: boolean;
}

export const EMPTY: RegexNode = { type: 'empty' };
export const MAX_REPEAT = 10_000;

export function parseRegex(pattern: string, options: RegexOptions = {}): RegexNode {
  const flags: RegexFlags = { i: false, m: false, s: false, x: false, u: true, U: false, R: false, ...options.flags };
  return new Parser(Array.from(pattern), flags, options.rejectLazy ?? false).parse();
}

/** A node matching exactly `text` (each character case-insensitively when asked). */
export function literal(text: string, caseInsensitive = false): RegexNode {
  const items: RegexNode[] = Array.from(text, (ch) => charNode(ch.codePointAt(0)!, caseInsensitive));
  return items.length === 1 ? items[0] : items.length === 0 ? EMPTY : { type: 'seq', items };
}

export function charNode(cp: number, caseInsensitive = false): RegexNode {
  if (!caseInsensitive) return { type: 'char', test: (c) => c === cp };
  const variants = caseVariants(cp);
  return { type: 'char', test: variants.length === 1 ? (c) => c === cp : (c) => variants.includes(c) || caseVariants(c).includes(cp) };
}

/** The code point and its one-code-point lower and upper case forms. */
export function caseVariants(cp: number): number[] {
  const s = String.fromCodePoint(cp);
  const out = [cp];
  for (const v of [s.toLowerCase(), s.toUpperCase()]) {
    const c = v.codePointAt(0)!;
    if (v.length === String.fromCodePoint(c).length && !out.includes(c)) out.push(c);
  }
  return out;
}

export function foldTest(test: CharTest): CharTest {
  return (c) => test(c) || caseVariants(c).some((v) => v !== c && test(v));
}

// Character classes ---------------------------------------------------------------------------

const NL = 0x0a;
const CR = 0x0d;

function propertyTest(source: string): CharTest | null {
  try {
    const re = new RegExp(`^${source}$`, 'u');
    const cache = new Map<number, boolean>();
    return (cp) => {
      if (cp < 128) {
        let hit = cache.get(cp);
        if (hit === undefined) cache.set(cp, (hit = re.test(String.fromCodePoint(cp))));
        return hit;
      }
      return re.test(String.fromCodePoint(cp));
    };
  } catch {
    return null;
  }
}

const isAsciiDigit: CharTest = (c) => c >= 0x30 && c <= 0x39;
const isAsciiWord: CharTest = (c) => isAsciiDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isAsciiSpace: CharTest = (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const unicodeDigit = propertyTest('\\p{Nd}')!;
const unicodeSpace = propertyTest('\\p{White_Space}')!;
const unicodeWord = propertyTest('[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]')!;

export function perlClass(letter: 'd' | 's' | 'w', unicode: boolean): CharTest {
  if (letter === 'd') return unicode ? (c) => isAsciiDigit(c) || (c > 127 && unicodeDigit(c)) : isAsciiDigit;
  if (letter === 's') return unicode ? (c) => isAsciiSpace(c) || (c > 127 && unicodeSpace(c)) : isAsciiSpace;
  return unicode ? (c) => isAsciiWord(c) || (c > 127 && unicodeWord(c)) : isAsciiWord;
}

const ASCII_CLASSES: Record<string, CharTest> = {
  alnum: (c) => isAsciiDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a),
  alpha: (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a),
  ascii: (c) => c <= 0x7f,
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c <= 0x1f || c === 0x7f,
  digit: isAsciiDigit,
  graph: (c) => c >= 0x21 && c <= 0x7e,
  lower: (c) => c >= 0x61 && c <= 0x7a,
  print: (c) => c >= 0x20 && c <= 0x7e,
  punct: (c) => (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  upper: (c) => c >= 0x41 && c <= 0x5a,
  word: isAsciiWord,
  xdigit: (c) => isAsciiDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
};

const PROPERTY_NAMES: Record<string, string> = {
  gc: 'General_Category',
  generalcategory: 'General_Category',
  sc: 'Script',
  script: 'Script',
  scx: 'Script_Extensions',
  scriptextensions: 'Script_Extensions',
};

/** `\p{…}`: Rust's loose names mapped onto the names JavaScript's `\p{…}` knows. */
function unicodeProperty(name: string): CharTest | null {
  const loose = (s: string) =>
    s
      .trim()
      .split(/[\s_-]+/)
      .filter(Boolean)
      .map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
      .join('_');
  const split = name.match(/^([^=:!]+)(!?[=:])(.+)$/);
  const candidates: string[] = [];
  if (split) {
    const key = PROPERTY_NAMES[split[1].replace(/[\s_-]/g, '').toLowerCase()] ?? split[1];
    for (const value of [split[3], loose(split[3])]) candidates.push(`${key}=${value}`);
  } else {
    for (const value of [name, loose(name), name.toUpperCase()]) candidates.push(value, `Script=${value}`);
  }
  for (const candidate of candidates) {
    if (!/^[A-Za-z0-9_=]+$/.test(candidate)) continue;
    const test = propertyTest(`\\p{${candidate}}`);
    if (test) return split?.[2].startsWith('!') ? (c) => !test(c) : test;
  }
  return null;
}

// The parser ------------------------------------------------------------------------------------

const HEX = /^[0-9a-fA-F]+$/;

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string[],
    private flags: RegexFlags,
    private readonly rejectLazy: boolean,
  ) {}

  parse(): RegexNode {
    const node = this.alternation();
    if (this.pos < this.src.length) this.fail(`unopened group: ')' has no matching '('`);
    return node;
  }

  private fail(message: string, at = this.pos): never {
    throw new RegexSyntaxError(message, at);
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private eat(ch: string): boolean {
    if (this.src[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  private lookingAt(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (this.src[this.pos + i] !== text[i]) return false;
    return true;
  }

  /** In verbose mode, whitespace and `#` comments are not part of the pattern. */
  private skipVerbose(): void {
    if (!this.flags.x) return;
    for (;;) {
      const c = this.peek();
      if (c !== undefined && /\s/u.test(c)) this.pos++;
      else if (c === '#') while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      else return;
    }
  }

  private alternation(): RegexNode {
    const branches = [this.concat()];
    while (this.eat('|')) branches.push(this.concat());
    return branches.length === 1 ? branches[0] : { type: 'alt', items: branches };
  }

  private concat(): RegexNode {
    const items: RegexNode[] = [];
    for (;;) {
      this.skipVerbose();
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      const atom = this.atom();
      if (atom) items.push(this.repetitions(atom));
    }
    return items.length === 1 ? items[0] : items.length === 0 ? EMPTY : { type: 'seq', items };
  }

  private repetitions(atom: RegexNode): RegexNode {
    let node = atom;
    for (;;) {
      this.skipVerbose();
      const at = this.pos;
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') [min, max] = this.counted();
      else return node;
      if (c !== '{') this.pos++;
      this.skipVerbose();
      if (this.eat('?') && this.rejectLazy) {
        this.fail('lazy repetition (`*?`, `+?`, `??`, `{n,m}?`) is not supported in Lark terminals', at);
      }
      node = { type: 'repeat', node, min, max };
    }
  }

  /** `{n}`, `{n,}`, `{n,m}`, `{,m}`. */
  private counted(): [number, number] {
    const start = this.pos;
    this.pos++;
    const number = () => {
      this.skipVerbose();
      let digits = '';
      while (/[0-9]/.test(this.peek() ?? '')) digits += this.src[this.pos++];
      this.skipVerbose();
      return digits === '' ? null : Number(digits);
    };
    const min = number();
    const comma = this.eat(',');
    const max = comma ? (number() ?? Infinity) : min;
    if (!this.eat('}') || max === null || (min === null && max === Infinity)) this.fail('invalid repetition: expected {n}, {n,}, {,m} or {n,m}', start);
    const lo = min ?? 0;
    if (max < lo) this.fail(`invalid repetition {${lo},${max}}: the maximum is below the minimum`, start);
    if (lo > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) this.fail(`repetition counts above ${MAX_REPEAT} are not supported`, start);
    return [lo, max];
  }

  private atom(): RegexNode | null {
    const at = this.pos;
    const c = this.src[this.pos++];
    switch (c) {
      case '(':
        return this.group(at);
      case '[':
        return { type: 'char', test: this.classBody(at) };
      case '.': {
        if (this.flags.s) return { type: 'char', test: () => true };
        const crlf = this.flags.R;
        return { type: 'char', test: (cp) => cp !== NL && !(crlf && cp === CR) };
      }
      case '^':
        return { type: 'assert', test: this.flags.m ? lineStart(this.flags.R) : (_, pos) => pos === 0 };
      case '$':
        return { type: 'assert', test: this.flags.m ? lineEnd(this.flags.R) : (input, pos) => pos === input.length };
      case '\\':
        return this.escape(at);
      case '*':
      case '+':
      case '?':
        return this.fail(`repetition operator '${c}' has nothing to repeat`, at);
      case '{':
        return this.fail(`repetition '{' has nothing to repeat`, at);
      default:
        return charNode(c.codePointAt(0)!, this.flags.i);
    }
  }

  private group(at: number): RegexNode | null {
    const saved = { ...this.flags };
    if (this.eat('?')) {
      if (this.lookingAt('=') || this.lookingAt('!') || this.lookingAt('<=') || this.lookingAt('<!')) {
        this.fail('look-around ((?=…), (?!…), (?<=…), (?<!…)) is not supported', at);
      }
      if (this.lookingAt('P<') || this.lookingAt('<')) {
        this.pos += this.peek() === 'P' ? 2 : 1;
        let name = '';
        while (this.peek() !== undefined && this.peek() !== '>') name += this.src[this.pos++];
        if (!this.eat('>') || !/^[\p{L}_][\p{L}\p{N}_.[\]]*$/u.test(name)) this.fail('invalid capture group name', at);
      } else if (this.lookingAt('P=') || this.lookingAt('P>')) {
        this.fail('backreferences are not supported', at);
      } else {
        // (?flags) or (?flags:…)
        let on = true;
        let any = false;
        for (;;) {
          const f = this.src[this.pos++];
          if (f === undefined) this.fail('unclosed group', at);
          if (f === ')') {
            if (!any) this.fail('empty flag group', at);
            return null; // flags apply until the end of the enclosing group
          }
          if (f === ':') break;
          if (f === '-') {
            if (!on) this.fail('repeated negation in flags', at);
            on = false;
            continue;
          }
          if (!'imsxuUR'.includes(f)) this.fail(`unknown flag '${f}'`, this.pos - 1);
          this.flags[f as keyof RegexFlags] = on;
          any = true;
        }
      }
    }
    const node = this.alternation();
    if (!this.eat(')')) this.fail("unclosed group: '(' has no matching ')'", at);
    this.flags = saved;
    return node;
  }

  /** `\…` outside a class. */
  private escape(at: number): RegexNode {
    const c = this.src[this.pos];
    if (c === undefined) this.fail('the pattern ends with a lone backslash', at);
    switch (c) {
      case 'A':
        this.pos++;
        return { type: 'assert', test: (_, pos) => pos === 0 };
      case 'z':
        this.pos++;
        return { type: 'assert', test: (input, pos) => pos === input.length };
      case 'b': {
        this.pos++;
        const word = perlClass('w', this.flags.u);
        const kind = this.eat('{') ? this.braced(at) : '';
        const before = (input: readonly number[], pos: number) => pos > 0 && word(input[pos - 1]);
        const after = (input: readonly number[], pos: number) => pos < input.length && word(input[pos]);
        switch (kind) {
          case '':
            return { type: 'assert', test: (input, pos) => before(input, pos) !== after(input, pos) };
          case 'start':
            return { type: 'assert', test: (input, pos) => !before(input, pos) && after(input, pos) };
          case 'end':
            return { type: 'assert', test: (input, pos) => before(input, pos) && !after(input, pos) };
          case 'start-half':
            return { type: 'assert', test: (input, pos) => !before(input, pos) };
          case 'end-half':
            return { type: 'assert', test: (input, pos) => !after(input, pos) };
          default:
            return this.fail(`unknown word boundary \\b{${kind}}`, at);
        }
      }
      case 'B': {
        this.pos++;
        const word = perlClass('w', this.flags.u);
        return { type: 'assert', test: (input, pos) => (pos > 0 && word(input[pos - 1])) === (pos < input.length && word(input[pos])) };
      }
      case '<':
      case '>': {
        this.pos++;
        const word = perlClass('w', this.flags.u);
        const start = c === '<';
        return {
          type: 'assert',
          test: (input, pos) => {
            const before = pos > 0 && word(input[pos - 1]);
            const after = pos < input.length && word(input[pos]);
            return start ? !before && after : before && !after;
          },
        };
      }
    }
    const test = this.classEscape(at);
    if (test) return { type: 'char', test: this.flags.i ? foldTest(test) : test };
    return charNode(this.charEscape(at), this.flags.i);
  }

  private braced(at: number): string {
    let text = '';
    while (this.peek() !== undefined && this.peek() !== '}') text += this.src[this.pos++];
    if (!this.eat('}')) this.fail('unclosed {…}', at);
    return text;
  }

  /** \d \D \s \S \w \W \p{…} \P{…} \pX; null (nothing consumed) for other escapes. */
  private classEscape(at: number): CharTest | null {
    const c = this.src[this.pos];
    if ('dswDSW'.includes(c)) {
      this.pos++;
      const test = perlClass(c.toLowerCase() as 'd' | 's' | 'w', this.flags.u);
      return c === c.toUpperCase() ? (cp) => !test(cp) : test;
    }
    if (c === 'p' || c === 'P') {
      this.pos++;
      let name: string;
      if (this.eat('{')) name = this.braced(at);
      else {
        name = this.src[this.pos++] ?? '';
        if (!name) this.fail('incomplete \\p escape', at);
      }
      const negated = name.startsWith('^');
      const test = unicodeProperty(negated ? name.slice(1) : name);
      if (!test) this.fail(`unknown Unicode class \\${c}{${name}}`, at);
      return c === 'P' !== negated ? (cp) => !test(cp) : test;
    }
    return null;
  }

  /** An escape that stands for one character. */
  private charEscape(at: number): number {
    const c = this.src[this.pos++];
    switch (c) {
      case 'a':
        return 0x07;
      case 'f':
        return 0x0c;
      case 't':
        return 0x09;
      case 'n':
        return 0x0a;
      case 'r':
        return 0x0d;
      case 'v':
        return 0x0b;
      case 'x':
        return this.hex(at, 2);
      case 'u':
        return this.hex(at, 4);
      case 'U':
        return this.hex(at, 8);
    }
    if (/[0-9]/.test(c)) this.fail('backreferences (and octal escapes) are not supported', at);
    // Rust allows escaping any ASCII character that is not a letter or a digit.
    if (c.codePointAt(0)! < 128 && !/[A-Za-z]/.test(c)) return c.codePointAt(0)!;
    return this.fail(`unrecognized escape \\${c}`, at);
  }

  private hex(at: number, digits: number): number {
    let text = '';
    if (this.eat('{')) text = this.braced(at);
    else for (let i = 0; i < digits; i++) text += this.src[this.pos++] ?? '';
    const cp = HEX.test(text) ? Number.parseInt(text, 16) : NaN;
    if (!(cp >= 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('invalid hexadecimal escape', at);
    return cp;
  }

  // [...] -----------------------------------------------------------------------------------

  /** After `[`: the whole class up to its `]`, as one test. */
  private classBody(at: number): CharTest {
    const negated = this.eat('^');
    let acc = this.classUnion(at, true);
    for (;;) {
      this.skipVerbose();
      let op: '&&' | '--' | '~~' | null = null;
      for (const candidate of ['&&', '--', '~~'] as const) {
        if (this.lookingAt(candidate)) op = candidate;
      }
      if (!op) break;
      this.pos += 2;
      const left = acc;
      const right = this.classUnion(at, false);
      acc = op === '&&' ? (c) => left(c) && right(c) : op === '--' ? (c) => left(c) && !right(c) : (c) => left(c) !== right(c);
    }
    if (!this.eat(']')) this.fail("unclosed character class: '[' has no matching ']'", at);
    const test = this.flags.i ? foldTest(acc) : acc;
    return negated ? (c) => !test(c) : test;
  }

  private classUnion(at: number, first: boolean): CharTest {
    const tests: CharTest[] = [];
    const ranges: Array<[number, number]> = [];
    let leading = first;
    for (;;) {
      this.skipVerbose();
      const c = this.peek();
      if (c === undefined) this.fail("unclosed character class: '[' has no matching ']'", at);
      if (c === ']' && !leading) break;
      if (this.lookingAt('&&') || this.lookingAt('~~') || (this.lookingAt('--') && !leading)) break;
      leading = false;
      if (c === '[') {
        if (this.lookingAt('[:')) {
          const end = this.src.indexOf(']', this.pos);
          const inner = this.src.slice(this.pos + 2, end).join('');
          const m = inner.match(/^(\^?)([a-z]+):$/);
          if (m && ASCII_CLASSES[m[2]]) {
            this.pos = end + 1;
            const test = ASCII_CLASSES[m[2]];
            tests.push(m[1] ? (cp) => !test(cp) : test);
            continue;
          }
        }
        const inner = this.pos++;
        tests.push(this.classBody(inner));
        continue;
      }
      const start = this.classChar(at);
      if (typeof start !== 'number') {
        tests.push(start);
        continue;
      }
      this.skipVerbose();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined && !this.lookingAt('--')) {
        this.pos++;
        this.skipVerbose();
        const end = this.classChar(at);
        if (typeof end !== 'number') this.fail('invalid range in a character class: an end is a class', at);
        if (end < start) this.fail('invalid range in a character class: the end is before the start', at);
        ranges.push([start, end]);
      } else {
        ranges.push([start, start]);
      }
    }
    if (ranges.length) tests.push((cp) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi));
    return tests.length === 1 ? tests[0] : (cp) => tests.some((t) => t(cp));
  }

  /** One member of a class: a character, or a class escape (\d, \p{…}). */
  private classChar(at: number): number | CharTest {
    const c = this.src[this.pos++];
    if (c !== '\\') return c.codePointAt(0)!;
    if (this.peek() === undefined) this.fail('the pattern ends with a lone backslash', at);
    const test = this.classEscape(at);
    if (test) return test;
    return this.charEscape(at);
  }
}

function lineStart(crlf: boolean): AssertTest {
  return (input, pos) => pos === 0 || input[pos - 1] === NL || (crlf && input[pos - 1] === CR && input[pos] !== NL);
}

function lineEnd(crlf: boolean): AssertTest {
  return (input, pos) => pos === input.length || input[pos] === NL || (crlf && input[pos] === CR);
}
