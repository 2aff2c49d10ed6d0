// `format: {type: "grammar", syntax: "regex"}`: the whole input must match the pattern (as if it
// were wrapped in \A(?:…)\z). The pattern is in Rust `regex` syntax, like OpenAI's; see
// regex-syntax.ts for what is and is not supported. Compiled once; matching is linear-time.
import { Nfa, PatternTooLargeError } from './nfa.js';
import { parseRegex, RegexSyntaxError } from './regex-syntax.js';
import { codePoints, found, GrammarDefinitionError, mismatchAt, type CompiledGrammar } from './types.js';

export function compileRegexGrammar(definition: string): CompiledGrammar {
  let nfa: Nfa;
  try {
    nfa = new Nfa(parseRegex(definition));
  } catch (error) {
    if (error instanceof RegexSyntaxError || error instanceof PatternTooLargeError) throw new GrammarDefinitionError(error.message);
    throw error;
  }
  return {
    syntax: 'regex',
    check(text) {
      const input = codePoints(text);
      const result = nfa.fullMatch(input);
      if (result.matched) return null;
      const what = result.failedAt >= input.length ? 'the input ends before the pattern does' : `${found(input, result.failedAt)}, which the pattern does not allow here`;
      return mismatchAt(input, result.failedAt, what);
    },
  };
}
