// `syntax: "lark"` custom tool grammars: the Lark subset OpenAI documents, checked with an
// Earley recogniser whose terminals take their longest match.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GrammarDefinitionError, type CompiledGrammar } from '../../src/tools/grammar/index.js';
import { compileLarkGrammar } from '../../src/tools/grammar/lark.js';
import { APPLY_PATCH_LARK } from '../helpers/grammars.js';

function check(grammar: CompiledGrammar, accept: string[], reject: string[]) {
  for (const input of accept) assert.equal(grammar.check(input)?.message ?? null, null, `should accept ${JSON.stringify(input)}`);
  for (const input of reject) assert.notEqual(grammar.check(input), null, `should reject ${JSON.stringify(input)}`);
}

function refused(definition: string, message: RegExp) {
  assert.throws(
    () => compileLarkGrammar(definition),
    (error: Error) => error instanceof GrammarDefinitionError && message.test(error.message),
    `expected ${message} for ${JSON.stringify(definition)}`,
  );
}

describe('lark grammars', () => {
  test('the apply_patch grammar accepts patches and rejects broken ones', () => {
    const grammar = compileLarkGrammar(APPLY_PATCH_LARK);
    const full = [
      '*** Begin Patch',
      '*** Add File: hello.txt',
      '+Hello world',
      '+',
      '*** Update File: src/app.py',
      '*** Move to: src/main.py',
      '@@ def greet():',
      '-print("Hi")',
      '+print("Hello, world!")',
      ' return None',
      '@@',
      '-x = 1',
      '*** End of File',
      '*** Delete File: obsolete.txt',
      '*** End Patch',
    ].join('\n');
    check(
      grammar,
      [full, `${full}\n`, '*** Begin Patch\n*** Delete File: a b.txt\n*** End Patch', '*** Begin Patch\n*** Update File: a\n*** End Patch\n'],
      [
        '',
        '*** Begin Patch\n*** End Patch', // no hunk
        '*** Begin Patch\n*** Add File: a.txt\n*** End Patch', // an added file needs lines
        '*** Begin Patch\n*** Add File: a.txt\nno plus\n*** End Patch',
        '*** Begin Patch\n*** Update File: a\n@@\nmissing prefix\n*** End Patch',
        '*** Begin Patch\n*** Delete File: a\n', // no end
        '*** Begin Patch\n*** Delete File: a\n*** End Patch\n\n', // one LF at most after the end
        'Begin Patch\n*** Delete File: a\n*** End Patch',
        `${full}\nmore`,
      ],
    );
    const mismatch = grammar.check('*** Begin Patch\n*** Update File: a\n@@\nmissing prefix\n*** End Patch')!;
    assert.equal(mismatch.line, 4);
    assert.equal(mismatch.column, 1);
    assert.match(mismatch.message, /^line 4, column 1: expected .*"\+".*"-".*" ".*; found "missing prefix"$/);
    assert.match(grammar.check('*** Begin Patch\n*** Delete File: a\n')!.message, /line 3, column 1: expected "\*\*\* End Patch".*; the input ends there/);
  });

  test('an arithmetic grammar: left recursion, %ignore, imported numbers', () => {
    const grammar = compileLarkGrammar(`
      start: expr
      ?expr: expr "+" term | expr "-" term
           | term
      ?term: term "*" factor | term "/" factor | factor
      ?factor: "(" expr ")" | "-" factor | SIGNED_NUMBER
      %import common.SIGNED_NUMBER
      %import common.WS
      %ignore WS
    `);
    check(grammar, ['1', '1+2*3', ' ( 1 + 2 ) * -3.5e2 / 4 ', '--1', '1 - 2 - 3'], ['', '1 +', '(1', '1 2', '1 + * 2', '1)']);
    assert.match(grammar.check('1 + * 2')!.message, /^line 1, column 5: expected .*SIGNED_NUMBER.*; found "\* 2"$/);
  });

  test('the OpenAI documentation style: explicit whitespace terminals and aliases', () => {
    const grammar = compileLarkGrammar(`
start: expr
expr: term (SP ADD SP term)* -> add
| term
term: factor (SP MUL SP factor)* -> mul
| factor
factor: INT
SP: " "
ADD: "+"
MUL: "*"
%import common.INT
`);
    check(grammar, ['3', '1 + 2 * 3', '10 * 20'], ['1+2', '1  + 2', '1 + 2 ', '+1']);
  });

  test('a JSON grammar', () => {
    const grammar = compileLarkGrammar(`
      ?start: value
      ?value: object
            | array
            | ESCAPED_STRING
            | SIGNED_NUMBER      -> number
            | "true"             -> true
            | "false"            -> false
            | "null"             -> null
      array  : "[" [value ("," value)*] "]"
      object : "{" [pair ("," pair)*] "}"
      pair   : ESCAPED_STRING ":" value
      %import common (ESCAPED_STRING, SIGNED_NUMBER, WS)
      %ignore WS
    `);
    check(
      grammar,
      ['{}', '[]', '{"a": [1, -2.5, {"b": null}], "c\\"d": "e"}', ' true ', '"x"'],
      ['{"a": 1,}', '{a: 1}', '[1 2]', '"unterminated', '{"a": "line\nbreak"}', 'True'],
    );
  });

  test('repetition, ranges, case-insensitive strings, terminals built from terminals, comments', () => {
    const grammar = compileLarkGrammar(String.raw`
      // a tiny query language
      start: "select "i FIELDS " from " NAME (" limit " DIGITS)?   # trailing comment
      FIELDS: NAME ("," NAME)~0..2
      NAME: ("a".."z" | "_")+
      DIGITS: /[0-9]/{1,3}
      %import common.INT -> UNUSED_INT
    `);
    check(grammar, ['SELECT a from t', 'select a,b,c from t limit 100'], ['select a,b,c,d from t', 'select a from t limit 1000', 'select A from t']);
    const repeats = compileLarkGrammar('start: "ab"~2 "c" ~ 1..2 "d"{2,}');
    check(repeats, ['ababcdd', 'ababccddd'], ['abcdd', 'ababcccdd', 'ababcd']);
  });

  test('ambiguous, right-recursive and empty rules', () => {
    check(compileLarkGrammar('start: start start | "a"'), ['a', 'aaaaa'], ['', 'ab']);
    check(compileLarkGrammar('start: "a" start | "a"'), ['a', 'a'.repeat(200)], ['', 'b']);
    check(compileLarkGrammar('start: a b a\na: "x"?\nb: a "y" a |'), ['', 'y', 'xyx', 'xxyxx'], ['xxx', 'yy']);
    check(compileLarkGrammar('!start: ("a" | ) "b" empty\nempty:'), ['ab', 'b'], ['a']);
  });

  test('a terminal takes its longest match, as OpenAI documents for its lexer', () => {
    // The free-text regex swallows " end": the grammar only accepts text that does not end in " end".
    const greedy = compileLarkGrammar('start: TEXT " end"\nTEXT: /[a-z ]+/');
    check(greedy, [], ['some text end']);
    // One bounded terminal is the pattern OpenAI recommends.
    check(compileLarkGrammar('start: SENTENCE\nSENTENCE: /[a-z ]+ end/'), ['some text end'], ['some text']);
    // Different terminals matching at one place are all tried.
    check(compileLarkGrammar('start: ("@@" | "@@ " /.+/) "\\n"'), ['@@\n', '@@ here\n'], ['@@x\n']);
  });

  test('%ignore with anonymous patterns; positions count characters, not UTF-16 units', () => {
    const grammar = compileLarkGrammar('start: WORD+\nWORD: /\\w+/\n%ignore /[ \\t]+/\n%ignore /#[^\\n]*/');
    check(grammar, ['a b  c', 'a # comment', '  a\t'], ['a, b', '']);
    const emoji = compileLarkGrammar('start: "😀"+ "!"');
    assert.equal(emoji.check('😀😀!'), null);
    const mismatch = emoji.check('😀😀?')!;
    assert.deepEqual([mismatch.offset, mismatch.column], [2, 3]);
  });

  test('large inputs are checked quickly', () => {
    const grammar = compileLarkGrammar(APPLY_PATCH_LARK);
    const lines = Array.from({ length: 2000 }, (_, i) => `@@ fn f${i}()\n-old ${i}\n+new ${i} with more text\n context ${i}\n`).join('');
    const patch = `*** Begin Patch\n*** Update File: big.ts\n${lines}*** End Patch\n`;
    const started = performance.now();
    assert.equal(grammar.check(patch), null);
    assert.ok(performance.now() - started < 2000, `${patch.length} characters in ${performance.now() - started} ms`);
  });

  test('grammars that cannot be used are refused with the reason and the line', () => {
    refused('expr: "a"', /no start rule/);
    refused('start: missing', /rule missing is not defined/);
    refused('start: MISSING', /terminal MISSING is not defined.*%import common.MISSING/);
    refused('start: A\nA: "a" A', /line 2: terminal A refers to itself/);
    refused('start: A\nA: rule\nrule: "x"', /a terminal cannot use the rule rule/);
    refused('start: A\nstart: "b"\nA: "a"', /start is defined twice/);
    refused('start: _sep{x, ","}', /templates/);
    refused('start: A\nA.2: "a"', /terminal priorities/);
    refused('start: "a"\n%declare X', /%declare is not supported/);
    refused('start: "a"\n%import python.NAME', /only the built-in "common" terminals/);
    refused('start: X\n%import common.NO_SUCH', /common has no terminal NO_SUCH/);
    refused('start: /a(?=b)/', /line 1: in \/a\(\?=b\)\/: look-around/);
    refused('start: /a+?/', /lazy repetition/);
    refused('start: "unterminated', /unterminated string/);
    refused('start: <|tool|>', /special tokens/);
    refused('start: "a" %json {}', /unexpected %json|%json/);
    refused('start: x\n  x: "a"\nstart2 "b"', /line 3: expected ':'/);
    refused('start: "b".."a"', /range .* is empty/);
  });

  test('accepted Lark extras: rule priorities, modifiers, aliases, %import lists and renames', () => {
    const grammar = compileLarkGrammar(`
      start.2: item+
      ?item: NUM | word
      !word: LETTERS -> w
      %import common.INT -> NUM
      %import common (WORD)
      LETTERS: WORD
      %ignore " "
    `);
    check(grammar, ['12 ab 3'], ['12 ab 3.5']);
  });
});
