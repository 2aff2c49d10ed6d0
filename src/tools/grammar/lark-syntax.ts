// Lark grammar text → AST, for the subset of Lark that OpenAI documents for custom tool grammars
// (OpenAI samples with LLGuidance, whose Lark dialect this follows). See lark.ts for what the
// definitions mean; this file only reads them.
//
//   rule: expansion | expansion -> alias       lowercase names are rules
//   TERMINAL: "literal" | /regex/flags          uppercase names are terminals (regular)
//   items: NAME "string" "string"i /re/imsx "a".."z" (group) [optional]
//   operators: x? x* x+ x~n x~n..m x{n} x{n,m}; `|` may start a continuation line
//   directives: %ignore expr · %import common.NAME [-> ALIAS] · %import common (A, B)
//   comments: // … and # …;  modifiers ?rule !rule and rule priorities (rule.2) are accepted.
//
// Refused with a clear error: templates (name{…}), terminal priorities (TERM.2), %declare,
// %override, %extend, imports other than `common`, and LLGuidance-only syntax (%json, %regex,
// %llguidance, <special tokens>, @grammar references, rule options like name[lazy]).

export type LarkExpr =
  | { kind: 'seq'; items: LarkExpr[] }
  | { kind: 'alt'; items: LarkExpr[] }
  | { kind: 'repeat'; expr: LarkExpr; min: number; max: number }
  | { kind: 'name'; name: string; line: number }
  | { kind: 'string'; value: string; insensitive: boolean; line: number }
  | { kind: 'regex'; source: string; flags: string; line: number }
  | { kind: 'range'; from: string; to: string; line: number };

export interface LarkDefinition {
  name: string;
  terminal: boolean;
  expr: LarkExpr;
  line: number;
}

export interface LarkImport {
  /** The name in `common`. */
  name: string;
  /** The name it gets here. */
  alias: string;
  line: number;
}

export interface LarkGrammarAst {
  definitions: LarkDefinition[];
  ignores: Array<{ expr: LarkExpr; line: number }>;
  imports: LarkImport[];
}

export class LarkSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export const MAX_LARK_REPEAT = 10_000;

export function isTerminalName(name: string): boolean {
  return /^_*[A-Z]/.test(name);
}

// Tokens ---------------------------------------------------------------------------------------

type TokenType = 'name' | 'string' | 'regex' | 'number' | 'op' | 'directive' | 'nl' | 'eof';

interface Token {
  type: TokenType;
  value: string;
  /** `i` for "…"i; the flags of /…/flags. */
  flags: string;
  line: number;
}

const OPS = ['->', '..', ':', '|', '(', ')', '[', ']', '{', '}', '?', '*', '+', '~', ',', '.', '!'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let depth = 0;
  let i = 0;
  const push = (type: TokenType, value: string, flags = '') => tokens.push({ type, value, flags, line });
  const fail = (message: string): never => {
    throw new LarkSyntaxError(message, line);
  };

  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      if (depth === 0 && tokens.length && tokens[tokens.length - 1].type !== 'nl') push('nl', '\n');
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let raw = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\n') fail('unterminated string literal');
        if (text[j] === '\\') raw += text[j++];
        raw += text[j++] ?? '';
      }
      if (j >= text.length) fail('unterminated string literal');
      j++;
      const insensitive = text[j] === 'i' && !/[\w]/.test(text[j + 1] ?? '');
      if (insensitive) j++;
      push('string', unescapeString(raw, fail), insensitive ? 'i' : '');
      i = j;
      continue;
    }
    if (c === '/') {
      let j = i + 1;
      let source = '';
      while (j < text.length && text[j] !== '/') {
        if (text[j] === '\n') fail('unterminated regular expression');
        if (text[j] === '\\') {
          // `\/` is a slash inside the pattern; other escapes stay for the regex parser.
          if (text[j + 1] === '/') {
            source += '/';
            j += 2;
            continue;
          }
          source += text[j++];
        }
        source += text[j++] ?? '';
      }
      if (j >= text.length) fail('unterminated regular expression');
      j++;
      let flags = '';
      while (/[a-zA-Z]/.test(text[j] ?? '')) flags += text[j++];
      const bad = flags.replace(/[imsxlu]/g, '');
      if (bad) fail(`unknown regular expression flag '${bad[0]}' (Lark allows i, m, s, x, l, u)`);
      push('regex', source, flags);
      i = j;
      continue;
    }
    if (c === '%') {
      const m = /^%([a-z_]+)/.exec(text.slice(i));
      if (!m) fail("expected a directive name after '%'");
      push('directive', m![1]);
      i += m![0].length;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(text.slice(i))!;
      push('number', m[0]);
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      // LLGuidance also allows '-' inside names; '->' is always the alias arrow.
      const m = /^[A-Za-z_](?:[A-Za-z0-9_]|-(?!>))*/.exec(text.slice(i))!;
      push('name', m[0]);
      i += m[0].length;
      continue;
    }
    if (c === '<') fail('special tokens (<…>) are not supported');
    if (c === '@') fail('references to other grammars (@name) are not supported');
    const op = OPS.find((o) => text.startsWith(o, i));
    if (!op) fail(`unexpected character ${JSON.stringify(c)}`);
    if (op === '(' || op === '[' || op === '{') depth++;
    if ((op === ')' || op === ']' || op === '}') && depth > 0) depth--;
    push('op', op!);
    i += op!.length;
  }
  push('eof', '');
  return tokens;
}

/** The escapes of a Lark string literal (Python's): \n \t \r \\ \" \xNN \uNNNN \UNNNNNNNN …; others stay as written. */
function unescapeString(raw: string, fail: (message: string) => never): string {
  return raw.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|[\s\S])/g, (all, e: string) => {
    switch (e[0]) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case 'a':
        return '\x07';
      case 'b':
        return '\b';
      case '\\':
      case '"':
      case "'":
        return e;
      case 'x':
      case 'u':
      case 'U': {
        if (e.length === 1) return all;
        const cp = Number.parseInt(e.slice(1), 16);
        if (cp > 0x10ffff) fail(`invalid escape ${all} in a string literal`);
        return String.fromCodePoint(cp);
      }
    }
    if (/[0-7]/.test(e[0])) return String.fromCodePoint(Number.parseInt(e, 8));
    return all;
  });
}

// Parser ---------------------------------------------------------------------------------------

export function parseLark(text: string): LarkGrammarAst {
  return new LarkParser(tokenize(text)).grammar();
}

class LarkParser {
  private i = 0;
  private readonly ast: LarkGrammarAst = { definitions: [], ignores: [], imports: [] };

  constructor(private readonly tokens: Token[]) {}

  private get tok(): Token {
    return this.tokens[this.i];
  }

  private fail(message: string, token = this.tok): never {
    throw new LarkSyntaxError(message, token.line);
  }

  private isOp(value: string, offset = 0): boolean {
    const t = this.tokens[this.i + offset];
    return t?.type === 'op' && t.value === value;
  }

  private expectOp(value: string, what: string): void {
    if (!this.isOp(value)) this.fail(`expected '${value}' ${what}, found ${describe(this.tok)}`);
    this.i++;
  }

  private endOfStatement(): void {
    if (this.tok.type === 'nl') this.i++;
    else if (this.tok.type !== 'eof') this.fail(`unexpected ${describe(this.tok)}`);
  }

  grammar(): LarkGrammarAst {
    for (;;) {
      while (this.tok.type === 'nl') this.i++;
      if (this.tok.type === 'eof') return this.ast;
      if (this.tok.type === 'directive') this.directive();
      else this.definition();
    }
  }

  private definition(): void {
    const line = this.tok.line;
    // Rule modifiers: `?rule` (inline when it has one child) and `!rule` (keep all tokens).
    while (this.isOp('?') || this.isOp('!')) this.i++;
    if (this.tok.type !== 'name') this.fail(`expected a rule or terminal definition, found ${describe(this.tok)}`);
    const name = this.tok.value;
    const terminal = isTerminalName(name);
    this.i++;
    if (this.isOp('{')) this.fail(`templates (${name}{…}) are not supported`);
    if (this.isOp('[')) this.fail(`rule options (${name}[…]) are not supported`);
    if (this.isOp('.')) {
      // Priorities change which parse tree Lark builds, never which inputs match.
      if (terminal) this.fail(`terminal priorities (${name}.N) are not supported`);
      this.i++;
      if (this.tokens[this.i].type !== 'number') this.fail(`expected a priority number after '${name}.'`);
      this.i++;
    }
    this.expectOp(':', `after '${name}'`);
    const expr = this.expansions();
    this.endOfStatement();
    this.ast.definitions.push({ name, terminal, expr, line });
  }

  private directive(): void {
    const token = this.tok;
    this.i++;
    switch (token.value) {
      case 'ignore':
        this.ast.ignores.push({ expr: this.expansions(), line: token.line });
        return this.endOfStatement();
      case 'import':
        this.importStatement(token.line);
        return this.endOfStatement();
      case 'declare':
      case 'override':
      case 'extend':
        return this.fail(`%${token.value} is not supported`, token);
      default:
        return this.fail(`unknown or unsupported directive %${token.value}`, token);
    }
  }

  private importStatement(line: number): void {
    const path: string[] = [];
    for (;;) {
      if (this.tok.type !== 'name') this.fail('expected a name in %import');
      path.push(this.tok.value);
      this.i++;
      if (!this.isOp('.')) break;
      this.i++;
    }
    const names: Array<[string, string]> = [];
    let module: string[];
    if (this.isOp('(')) {
      this.i++;
      module = path;
      for (;;) {
        if (this.tok.type !== 'name') this.fail('expected a name in %import (…)');
        names.push([this.tok.value, this.tok.value]);
        this.i++;
        if (this.isOp(',')) this.i++;
        else break;
      }
      this.expectOp(')', 'to close %import (…)');
    } else {
      if (path.length < 2) this.fail('expected %import common.NAME');
      module = path.slice(0, -1);
      const name = path[path.length - 1];
      let alias = name;
      if (this.isOp('->')) {
        this.i++;
        if (this.tok.type !== 'name') this.fail("expected a name after '->'");
        alias = this.tok.value;
        this.i++;
      }
      names.push([name, alias]);
    }
    if (module.join('.') !== 'common') {
      this.fail(`%import ${module.join('.')} is not supported: only the built-in "common" terminals can be imported`);
    }
    for (const [name, alias] of names) this.ast.imports.push({ name, alias, line });
  }

  /** Alternatives; a `|` on a new line continues them. Aliases (`-> name`) shape trees only and are dropped. */
  private expansions(): LarkExpr {
    const alternatives = [this.alias()];
    for (;;) {
      if (this.isOp('|')) {
        this.i++;
      } else if (this.tok.type === 'nl' && this.isOp('|', 1)) {
        this.i += 2;
      } else break;
      alternatives.push(this.alias());
    }
    return alternatives.length === 1 ? alternatives[0] : { kind: 'alt', items: alternatives };
  }

  private alias(): LarkExpr {
    const expansion = this.expansion();
    if (this.isOp('->')) {
      this.i++;
      if (this.tok.type !== 'name') this.fail("expected an alias name after '->'");
      this.i++;
    }
    return expansion;
  }

  private expansion(): LarkExpr {
    const items: LarkExpr[] = [];
    while (this.startsAtom()) items.push(this.expr());
    return items.length === 1 ? items[0] : { kind: 'seq', items };
  }

  private startsAtom(): boolean {
    const t = this.tok;
    return t.type === 'name' || t.type === 'string' || t.type === 'regex' || (t.type === 'op' && (t.value === '(' || t.value === '['));
  }

  private expr(): LarkExpr {
    let expr = this.atom();
    for (;;) {
      if (this.isOp('?')) expr = { kind: 'repeat', expr, min: 0, max: 1 };
      else if (this.isOp('*')) expr = { kind: 'repeat', expr, min: 0, max: Infinity };
      else if (this.isOp('+')) expr = { kind: 'repeat', expr, min: 1, max: Infinity };
      else if (this.isOp('~')) {
        this.i++;
        const min = this.number('~');
        let max = min;
        if (this.isOp('..')) {
          this.i++;
          max = this.number('..');
        }
        expr = this.counted(expr, min, max);
        continue;
      } else if (this.isOp('{')) {
        // LLGuidance's x{n}, x{n,}, x{,m}, x{n,m}.
        this.i++;
        const min = this.tok.type === 'number' ? this.number('{') : 0;
        let max = min;
        if (this.isOp(',')) {
          this.i++;
          max = this.tok.type === 'number' ? this.number(',') : Infinity;
        }
        this.expectOp('}', 'to close a {n,m} repetition');
        expr = this.counted(expr, min, max);
        continue;
      } else return expr;
      this.i++;
    }
  }

  private counted(expr: LarkExpr, min: number, max: number): LarkExpr {
    if (max < min) this.fail(`invalid repetition ${min}..${max}: the maximum is below the minimum`);
    if (min > MAX_LARK_REPEAT || (max !== Infinity && max > MAX_LARK_REPEAT)) this.fail(`repetition counts above ${MAX_LARK_REPEAT} are not supported`);
    return { kind: 'repeat', expr, min, max };
  }

  private number(after: string): number {
    if (this.tok.type !== 'number') this.fail(`expected a number after '${after}'`);
    return Number(this.tokens[this.i++].value);
  }

  private atom(): LarkExpr {
    const t = this.tok;
    this.i++;
    switch (t.type) {
      case 'name':
        if (this.isOp('{') && this.tokens[this.i + 1]?.type !== 'number' && !this.isOp(',', 1)) {
          this.fail(`templates (${t.value}{…}) are not supported`);
        }
        return { kind: 'name', name: t.value, line: t.line };
      case 'regex':
        return { kind: 'regex', source: t.value, flags: t.flags, line: t.line };
      case 'string': {
        if (this.isOp('..')) {
          this.i++;
          const to = this.tok;
          if (to.type !== 'string') this.fail("expected a string after '..' in a range");
          this.i++;
          if ([...t.value].length !== 1 || [...to.value].length !== 1) this.fail('a range ("a".."z") needs single characters');
          return { kind: 'range', from: t.value, to: to.value, line: t.line };
        }
        return { kind: 'string', value: t.value, insensitive: t.flags === 'i', line: t.line };
      }
      default: {
        if (t.value === '(') {
          const inner = this.expansions();
          this.expectOp(')', "to close '('");
          return inner;
        }
        const inner = this.expansions();
        this.expectOp(']', "to close '['");
        return { kind: 'repeat', expr: inner, min: 0, max: 1 };
      }
    }
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'nl':
      return 'the end of the line';
    case 'eof':
      return 'the end of the grammar';
    case 'string':
      return `the string ${JSON.stringify(token.value)}`;
    case 'regex':
      return `the regular expression /${token.value}/`;
    case 'directive':
      return `%${token.value}`;
    default:
      return `'${token.value}'`;
  }
}
