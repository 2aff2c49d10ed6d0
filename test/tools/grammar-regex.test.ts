// `syntax: "regex"` custom tool grammars: Rust regex syntax, whole-input matching, linear time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileGrammar, GrammarDefinitionError } from '../../src/tools/grammar/index.js';
import { compileRegexGrammar } from '../../src/tools/grammar/regex.js';

function accepts(pattern: string, ...inputs: string[]) {
  const grammar = compileRegexGrammar(pattern);
  for (const input of inputs) assert.equal(grammar.check(input), null, `${pattern} should accept ${JSON.stringify(input)}`);
}

function rejects(pattern: string, ...inputs: string[]) {
  const grammar = compileRegexGrammar(pattern);
  for (const input of inputs) assert.notEqual(grammar.check(input), null, `${pattern} should reject ${JSON.stringify(input)}`);
}

function refused(pattern: string, message: RegExp) {
  assert.throws(() => compileRegexGrammar(pattern), (error: Error) => error instanceof GrammarDefinitionError && message.test(error.message));
}

describe('regex grammars', () => {
  test('the whole input must match', () => {
    accepts(String.raw`\d{4}-\d{2}-\d{2}`, '2025-08-07');
    rejects(String.raw`\d{4}-\d{2}-\d{2}`, 'on 2025-08-07', '2025-08-07 ', '2025-8-07', '');
    accepts('a|ab', 'a', 'ab');
    rejects('a|ab', 'abb');
  });

  test('Rust syntax: named groups, \\A and \\z, inline flags, verbose mode', () => {
    accepts(String.raw`(?P<verb>add|remove) (?<item>[a-z]+)`, 'add apple', 'remove pear');
    accepts(String.raw`\A(?i)select \w+\z`, 'SELECT name', 'select Name');
    rejects(String.raw`\A(?i)select \w+\z`, 'SELECT name;');
    accepts('(?i:ab)c', 'ABc', 'abc');
    rejects('(?i:ab)c', 'abC');
    accepts('a(?i)b(?-i)c', 'aBc');
    rejects('a(?i)b(?-i)c', 'aBC', 'ABc');
    accepts(
      String.raw`(?x)
        \d{3}   # area code
        -
        \d{4}   # number`,
      '555-1234',
    );
    accepts('(?s)a.b', 'a\nb');
    rejects('a.b', 'a\nb');
    accepts('(?m)^a$\n^b$', 'a\nb');
    rejects('^a$\n^b$', 'a\nb');
    accepts('a*?b+?c??', 'aabbc', 'b');
  });

  test('classes: ranges, negation, nesting, set operations, POSIX and Unicode classes, escapes', () => {
    accepts('[a-z&&[^aeiou]]+', 'bcd');
    rejects('[a-z&&[^aeiou]]+', 'bad');
    accepts('[a-z--[aeiou]]+', 'xyz');
    accepts('[[:alpha:]][[:digit:]]', 'a1');
    rejects('[[:^digit:]]', '7');
    accepts(String.raw`\p{Greek}+ \pL+ \p{Lu}`, 'αβγ ok Q');
    rejects(String.raw`\P{L}`, 'é');
    accepts(String.raw`\d+`, '١٢٣'); // Unicode digits, as in Rust
    rejects(String.raw`(?-u:\d)+`, '١٢٣');
    accepts(String.raw`\x41\x{1F600}\u00e9\t\/`, 'A😀é\t/');
    accepts(String.raw`[\]\-^]+`, ']-^');
    accepts(String.raw`\bword\b.*`, 'word here');
    rejects(String.raw`x\bword`, 'xword');
  });

  test('repetition counts', () => {
    accepts('a{2}b{1,}c{0,2}d{,1}', 'aab', 'aabbbccd');
    rejects('a{2}b{1,}c{0,2}', 'ab', 'aabccc');
  });

  test('a mismatch says where, in lines and columns', () => {
    const grammar = compileRegexGrammar(String.raw`(line \d+\n)+`);
    const mismatch = grammar.check('line 1\nline 2\nline x\n');
    assert.deepEqual({ ...mismatch, message: undefined }, { offset: 19, line: 3, column: 6, message: undefined });
    assert.match(mismatch!.message, /^line 3, column 6: .*"x"/);
    assert.match(grammar.check('line 1\nline 2')!.message, /line 2, column 7: the input ends before the pattern does/);
  });

  test('what Rust does not support is refused', () => {
    refused('a(?=b)', /look-around/);
    refused('(?<!a)b', /look-around/);
    refused(String.raw`(a)\1`, /backreferences/);
    refused('(ab', /unclosed group/);
    refused('ab)', /unopened group/);
    refused('[ab', /unclosed character class/);
    refused('*a', /nothing to repeat/);
    refused('a{2,1}', /maximum is below the minimum/);
    refused(String.raw`\p{NoSuchClass}`, /unknown Unicode class/);
    refused(String.raw`\q`, /unrecognized escape/);
    refused('(?z)', /unknown flag/);
  });

  test('matching takes linear time, whatever the pattern', () => {
    const grammar = compileRegexGrammar('(a+)+$');
    const started = performance.now();
    assert.notEqual(grammar.check(`${'a'.repeat(50_000)}b`), null);
    assert.ok(performance.now() - started < 1000, 'no catastrophic backtracking');
  });

  test('compileGrammar compiles a format once', () => {
    const format = { type: 'grammar' as const, syntax: 'regex' as const, definition: '[0-9]+' };
    assert.equal(compileGrammar(format), compileGrammar(format));
    const bad = { type: 'grammar' as const, syntax: 'regex' as const, definition: '(' };
    assert.throws(() => compileGrammar(bad), GrammarDefinitionError);
    assert.throws(() => compileGrammar(bad), GrammarDefinitionError);
  });
});
