// Custom tool grammars (`format: {type: "grammar", syntax: "lark" | "regex", definition}`):
// compiled once per request — the request's validation compiles (a bad grammar is a 400), and
// the tool offer reuses the result, cached on the format object itself.
import { compileLarkGrammar } from './lark.js';
import { compileRegexGrammar } from './regex.js';
import { GrammarDefinitionError, type CompiledGrammar, type GrammarSyntax } from './types.js';

export { GrammarDefinitionError, type CompiledGrammar, type GrammarMismatch, type GrammarSyntax } from './types.js';

export interface GrammarFormat {
  type: 'grammar';
  syntax: GrammarSyntax;
  definition: string;
}

const compiled = new WeakMap<object, CompiledGrammar | GrammarDefinitionError>();

export function isGrammarFormat(format: unknown): format is GrammarFormat {
  const f = format as Partial<GrammarFormat> | null | undefined;
  return f?.type === 'grammar' && (f.syntax === 'lark' || f.syntax === 'regex') && typeof f.definition === 'string';
}

/** Throws GrammarDefinitionError for a grammar that cannot be used. */
export function compileGrammar(format: GrammarFormat): CompiledGrammar {
  let result = compiled.get(format);
  if (!result) {
    try {
      result = format.syntax === 'lark' ? compileLarkGrammar(format.definition) : compileRegexGrammar(format.definition);
    } catch (error) {
      if (!(error instanceof GrammarDefinitionError)) throw error;
      result = error;
    }
    compiled.set(format, result);
  }
  if (result instanceof GrammarDefinitionError) throw result;
  return result;
}

/** The grammar a custom tool's input must match; undefined for free-form tools (and grammars that cannot be compiled). */
export function customToolGrammar(format: unknown): CompiledGrammar | undefined {
  if (!isGrammarFormat(format)) return undefined;
  try {
    return compileGrammar(format);
  } catch (error) {
    if (error instanceof GrammarDefinitionError) return undefined;
    throw error;
  }
}
