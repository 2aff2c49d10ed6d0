// What both grammar engines (regex.ts, lark.ts) give the rest of Parley.

export type GrammarSyntax = 'lark' | 'regex';

/** Why an input does not match: the first error, with its position. */
export interface GrammarMismatch {
  /** Index in the input, in characters (code points). */
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
  /** E.g. `line 3, column 1: expected "+", "-" or " "; found "xyz"`. */
  message: string;
}

export interface CompiledGrammar {
  readonly syntax: GrammarSyntax;
  /** null when the whole input matches. */
  check(input: string): GrammarMismatch | null;
}

/** A grammar definition that cannot be used; the request gets a 400 naming tools[i].format. */
export class GrammarDefinitionError extends Error {}

export function codePoints(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) out.push(ch.codePointAt(0)!);
  return out;
}

/** A mismatch at `offset`, described as `line L, column C: <what>`. */
export function mismatchAt(input: readonly number[], offset: number, what: string): GrammarMismatch {
  let line = 1;
  let column = 1;
  for (let i = 0; i < offset && i < input.length; i++) {
    if (input[i] === 0x0a) {
      line++;
      column = 1;
    } else column++;
  }
  return { offset, line, column, message: `line ${line}, column ${column}: ${what}` };
}

/** What the input holds at `offset`, for an error message: `found "…"` or that it ended. */
export function found(input: readonly number[], offset: number): string {
  if (offset >= input.length) return 'the input ends there';
  const rest = String.fromCodePoint(...input.slice(offset, offset + 24));
  const line = rest.split('\n')[0];
  return `found ${JSON.stringify(line.length ? line : rest.slice(0, 1))}`;
}
