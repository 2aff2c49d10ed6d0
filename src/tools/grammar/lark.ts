// `format: {type: "grammar", syntax: "lark"}`: the input must be a sentence of the grammar,
// from its `start` rule. The grammar text is read by lark-syntax.ts; here its terminals become
// NFAs (terminals are regular: a terminal made of other terminals is one regular expression),
// its rules a plain context-free grammar (EBNF operators become helper rules, left-recursive
// for repetition), and earley.ts decides whether an input matches.
import { parseLark, isTerminalName, LarkSyntaxError, type LarkDefinition, type LarkExpr } from './lark-syntax.js';
import { COMMON_LARK } from './lark-common.js';
import { EarleyTables, recognise, type Cfg } from './earley.js';
import { Nfa, PatternTooLargeError } from './nfa.js';
import { literal, parseRegex, RegexSyntaxError, type RegexNode } from './regex-syntax.js';
import { codePoints, found, GrammarDefinitionError, mismatchAt, type CompiledGrammar } from './types.js';

/** Productions a grammar may expand to (after EBNF operators and counted repetition). */
export const MAX_PRODUCTIONS = 50_000;

export function compileLarkGrammar(definition: string): CompiledGrammar {
  let tables: EarleyTables;
  try {
    tables = new EarleyTables(buildCfg(definition));
  } catch (error) {
    if (error instanceof LarkSyntaxError || error instanceof PatternTooLargeError) throw new GrammarDefinitionError(error.message);
    throw error;
  }
  return {
    syntax: 'lark',
    check(text) {
      const input = codePoints(text);
      const result = recognise(tables, input);
      // A check that ran out of budget lets the input through: it is not known to be wrong.
      if (result.ok !== false) return null;
      return mismatchAt(input, result.offset, `${expecting(result.expected)}; ${found(input, result.offset)}`);
    },
  };
}

function expecting(labels: string[]): string {
  if (labels.length === 0) return 'nothing can follow';
  const shown = labels.slice(0, 12);
  const more = labels.length > shown.length ? ` (or ${labels.length - shown.length} more)` : '';
  if (shown.length === 1) return `expected ${shown[0]}${more}`;
  return `expected ${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}${more}`;
}

// Terminals ------------------------------------------------------------------------------------

/** Compiles terminal definitions (and anonymous terminal expressions) into regex nodes. */
class TerminalScope {
  private readonly nodes = new Map<string, RegexNode>();
  private readonly compiling = new Set<string>();

  constructor(
    private readonly definitions: Map<string, LarkDefinition>,
    private readonly imported: Map<string, RegexNode>,
  ) {}

  has(name: string): boolean {
    return this.imported.has(name) || this.definitions.has(name);
  }

  node(name: string, line: number): RegexNode {
    const known = this.imported.get(name) ?? this.nodes.get(name);
    if (known) return known;
    const definition = this.definitions.get(name);
    if (!definition) throw new LarkSyntaxError(`terminal ${name} is not defined (common terminals need %import common.${name})`, line);
    if (this.compiling.has(name)) {
      throw new LarkSyntaxError(`terminal ${name} refers to itself: terminals are regular and cannot be recursive (a lowercase rule can)`, definition.line);
    }
    this.compiling.add(name);
    const node = this.expr(definition.expr);
    this.compiling.delete(name);
    this.nodes.set(name, node);
    return node;
  }

  expr(expr: LarkExpr): RegexNode {
    switch (expr.kind) {
      case 'seq':
        return { type: 'seq', items: expr.items.map((item) => this.expr(item)) };
      case 'alt':
        return { type: 'alt', items: expr.items.map((item) => this.expr(item)) };
      case 'repeat':
        return { type: 'repeat', node: this.expr(expr.expr), min: expr.min, max: expr.max };
      case 'name':
        if (!isTerminalName(expr.name)) {
          throw new LarkSyntaxError(`a terminal cannot use the rule ${expr.name}: terminals are made of strings, regular expressions and other terminals`, expr.line);
        }
        return this.node(expr.name, expr.line);
      case 'string':
        return literal(expr.value, expr.insensitive);
      case 'regex':
        return regexNode(expr);
      case 'range': {
        const lo = expr.from.codePointAt(0)!;
        const hi = expr.to.codePointAt(0)!;
        if (hi < lo) throw new LarkSyntaxError(`the range ${JSON.stringify(expr.from)}..${JSON.stringify(expr.to)} is empty`, expr.line);
        return { type: 'char', test: (c) => c >= lo && c <= hi };
      }
    }
  }
}

function regexNode(expr: Extract<LarkExpr, { kind: 'regex' }>): RegexNode {
  try {
    const flags = { i: expr.flags.includes('i'), m: expr.flags.includes('m'), s: expr.flags.includes('s'), x: expr.flags.includes('x') };
    return parseRegex(expr.source, { flags, rejectLazy: true });
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw new LarkSyntaxError(`in /${expr.source}/: ${error.message}`, expr.line);
    throw error;
  }
}

let commonScope: TerminalScope | null = null;

function common(): TerminalScope {
  if (!commonScope) {
    const definitions = new Map(parseLark(COMMON_LARK).definitions.map((d) => [d.name, d]));
    commonScope = new TerminalScope(definitions, new Map());
  }
  return commonScope;
}

// Rules ----------------------------------------------------------------------------------------

function buildCfg(text: string): Cfg {
  const ast = parseLark(text);
  const rules = new Map<string, LarkDefinition>();
  const terminalDefs = new Map<string, LarkDefinition>();
  for (const definition of ast.definitions) {
    const map = definition.terminal ? terminalDefs : rules;
    if (map.has(definition.name)) throw new LarkSyntaxError(`${definition.name} is defined twice`, definition.line);
    map.set(definition.name, definition);
  }
  const imported = new Map<string, RegexNode>();
  for (const entry of ast.imports) {
    if (!isTerminalName(entry.name) || !common().has(entry.name)) {
      throw new LarkSyntaxError(`common has no terminal ${entry.name}`, entry.line);
    }
    if (terminalDefs.has(entry.alias)) throw new LarkSyntaxError(`${entry.alias} is both imported and defined`, entry.line);
    imported.set(entry.alias, common().node(entry.name, entry.line));
  }
  const scope = new TerminalScope(terminalDefs, imported);
  if (!rules.has('start')) throw new LarkSyntaxError('the grammar has no start rule ("start: …")', 1);

  const builder = new CfgBuilder(scope, rules);
  for (const definition of rules.values()) {
    const lhs = builder.ruleId(definition.name, definition.line);
    const alternatives = definition.expr.kind === 'alt' ? definition.expr.items : [definition.expr];
    for (const alternative of alternatives) builder.production(lhs, builder.sequence(alternative));
  }
  const ignore = ast.ignores.map(({ expr }) => new Nfa(expr.kind === 'name' && !isTerminalName(expr.name) ? badIgnore(expr) : scope.expr(expr)));
  return {
    productions: builder.productions,
    nonterminalCount: builder.nonterminalCount,
    start: builder.ruleId('start', 1),
    terminals: builder.terminals,
    ignore,
  };
}

function badIgnore(expr: Extract<LarkExpr, { kind: 'name' }>): never {
  throw new LarkSyntaxError(`%ignore takes terminals, not the rule ${expr.name}`, expr.line);
}

class CfgBuilder {
  readonly productions: Array<{ lhs: number; rhs: number[] }> = [];
  readonly terminals: Array<{ label: string; nfa: Nfa }> = [];
  nonterminalCount = 0;
  private readonly ruleIds = new Map<string, number>();
  private readonly terminalIds = new Map<string, number>();

  constructor(
    private readonly scope: TerminalScope,
    private readonly rules: Map<string, LarkDefinition>,
  ) {}

  ruleId(name: string, line: number): number {
    let id = this.ruleIds.get(name);
    if (id === undefined) {
      if (!this.rules.has(name)) throw new LarkSyntaxError(`rule ${name} is not defined`, line);
      this.ruleIds.set(name, (id = this.nonterminalCount++));
    }
    return id;
  }

  production(lhs: number, rhs: number[]): void {
    if (this.productions.length >= MAX_PRODUCTIONS) throw new LarkSyntaxError(`the grammar is too large (over ${MAX_PRODUCTIONS} productions once expanded)`, 1);
    this.productions.push({ lhs, rhs });
  }

  /** The symbols `expr` stands for in a sequence. */
  sequence(expr: LarkExpr): number[] {
    switch (expr.kind) {
      case 'seq':
        return expr.items.flatMap((item) => this.sequence(item));
      case 'alt': {
        const helper = this.nonterminalCount++;
        for (const item of expr.items) this.production(helper, this.sequence(item));
        return [helper];
      }
      case 'repeat':
        return this.repeat(this.single(expr.expr), expr.min, expr.max);
      case 'name':
        return [isTerminalName(expr.name) ? this.terminal(`T${expr.name}`, expr.name, () => this.scope.node(expr.name, expr.line)) : this.ruleId(expr.name, expr.line)];
      case 'string':
        return [this.terminal(`S${expr.insensitive ? 'i' : ''}${expr.value}`, JSON.stringify(expr.value) + (expr.insensitive ? 'i' : ''), () => literal(expr.value, expr.insensitive))];
      case 'regex':
        return [this.terminal(`R${expr.flags}/${expr.source}`, `/${expr.source}/${expr.flags}`, () => regexNode(expr))];
      case 'range':
        return [this.terminal(`C${expr.from}..${expr.to}`, `${JSON.stringify(expr.from)}..${JSON.stringify(expr.to)}`, () => this.scope.expr(expr))];
    }
  }

  /** One symbol for `expr`: itself, or a helper rule for a longer sequence. */
  private single(expr: LarkExpr): number {
    const symbols = this.sequence(expr);
    if (symbols.length === 1) return symbols[0];
    const helper = this.nonterminalCount++;
    this.production(helper, symbols);
    return helper;
  }

  /** x{min,max}: min copies, then a left-recursive x* or nested optionals. */
  private repeat(x: number, min: number, max: number): number[] {
    const out = new Array<number>(min).fill(x);
    if (max === Infinity) {
      const star = this.nonterminalCount++;
      this.production(star, []);
      this.production(star, [star, x]);
      out.push(star);
    } else if (max > min) {
      let rest = -1;
      for (let k = min; k < max; k++) {
        const optional = this.nonterminalCount++;
        this.production(optional, []);
        this.production(optional, rest < 0 ? [x] : [x, rest]);
        rest = optional;
      }
      out.push(rest);
    }
    return out;
  }

  private terminal(key: string, label: string, node: () => RegexNode): number {
    let id = this.terminalIds.get(key);
    if (id === undefined) {
      id = this.terminals.length;
      this.terminals.push({ label, nfa: new Nfa(node()) });
      this.terminalIds.set(key, id);
    }
    return ~id;
  }
}
