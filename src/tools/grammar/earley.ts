// An Earley recogniser over character positions, with terminals as regular expressions (what
// Lark calls the "dynamic" lexer, and what LLGuidance — OpenAI's sampler — does): any
// context-free grammar, ambiguous or left-recursive, with no separate tokenising pass.
//
// Earley set i holds the items alive after the first i characters. An item waiting for a
// terminal at i runs that terminal's NFA from i (after skipping any %ignore text) and moves to
// the set where its match ends. A terminal takes its longest match there, as OpenAI's lexer
// does (so a free-text regex swallows what a later rule hoped to see, exactly as OpenAI's docs
// warn); when several terminals match at one position, each is tried, so this check is never
// stricter than the sampler. Zero-width matches and empty rules are handled by completing,
// within the set, the items that wait on a nonterminal already completed there.

import type { Nfa } from './nfa.js';

export interface Cfg {
  /** `rhs`: nonterminal ids (>= 0) and terminals as `~index` (< 0). */
  productions: Array<{ lhs: number; rhs: number[] }>;
  nonterminalCount: number;
  start: number;
  terminals: Array<{ label: string; nfa: Nfa }>;
  /** %ignore: skipped, greedily and any number of times, before each terminal and at the end. */
  ignore: Nfa[];
}

export type Recognition =
  | { ok: true }
  | { ok: false; offset: number; expected: string[] }
  /** The work budget ran out before an answer (a huge input or a pathological grammar). */
  | { ok: 'undecided' };

/**
 * Items an input may create before the check gives up and lets it through (about 0.3 s of
 * CPU; a patch in the Codex grammar makes about 2 items per character).
 */
export const MAX_ITEMS = 1_000_000;

const COMPLETE = 0x7fffffff;

/** Sets with more items than this get hash indexes; smaller ones are scanned (cheaper to build). */
const SMALL = 48;

class ItemSet {
  readonly states: number[] = [];
  readonly origins: number[] = [];
  /** state * stride + origin, once the set is large. */
  keys: Set<number> | null = null;
  /** Nonterminal → items waiting for it, built once a finished large set is completed into. */
  waiting: Map<number, number[]> | null = null;

  has(state: number, origin: number, stride: number): boolean {
    if (this.keys) return this.keys.has(state * stride + origin);
    const { states, origins } = this;
    for (let k = 0; k < states.length; k++) if (states[k] === state && origins[k] === origin) return true;
    return false;
  }

  push(state: number, origin: number, stride: number): void {
    this.states.push(state);
    this.origins.push(origin);
    if (this.keys) this.keys.add(state * stride + origin);
    else if (this.states.length > SMALL) this.keys = new Set(this.states.map((s, k) => s * stride + this.origins[k]));
  }
}

/** The grammar in the form the recogniser walks: one state per (production, dot). */
export class EarleyTables {
  readonly symbolAt: Int32Array;
  readonly lhsOf: Int32Array;
  /** Per nonterminal, the first states of its productions. */
  readonly firstStates: number[][];
  readonly startState: number;
  readonly acceptState: number;

  constructor(readonly cfg: Cfg) {
    const augmented = [...cfg.productions, { lhs: cfg.nonterminalCount, rhs: [cfg.start] }];
    const size = augmented.reduce((sum, p) => sum + p.rhs.length + 1, 0);
    this.symbolAt = new Int32Array(size);
    this.lhsOf = new Int32Array(size);
    this.firstStates = Array.from({ length: cfg.nonterminalCount + 1 }, () => []);
    let state = 0;
    for (const p of augmented) {
      this.firstStates[p.lhs].push(state);
      for (let dot = 0; dot <= p.rhs.length; dot++, state++) {
        this.symbolAt[state] = dot < p.rhs.length ? p.rhs[dot] : COMPLETE;
        this.lhsOf[state] = p.lhs;
      }
    }
    this.startState = this.firstStates[cfg.nonterminalCount][0];
    this.acceptState = this.startState + 1;
  }
}

export function recognise(tables: EarleyTables, input: readonly number[], maxItems = MAX_ITEMS): Recognition {
  const { symbolAt, lhsOf, firstStates } = tables;
  const { terminals, ignore } = tables.cfg;
  const n = input.length;
  const stride = n + 1;
  const sets: Array<ItemSet | undefined> = new Array<ItemSet | undefined>(n + 1).fill(undefined);
  let items = 0;
  // Per-position marks for the set being processed (sets are processed in order): the position
  // at which a nonterminal was last predicted, completed with an empty span, or a terminal expected.
  const predictedAt = new Int32Array(tables.firstStates.length).fill(-1);
  const emptiedAt = new Int32Array(tables.firstStates.length).fill(-1);
  const expectedAt = new Int32Array(terminals.length).fill(-1);

  // Each terminal's last match (several items of a set often wait for the same terminal).
  const matchedAt = new Int32Array(terminals.length).fill(-1);
  const matchLength = new Int32Array(terminals.length);
  const longest = (t: number, pos: number): number => {
    if (matchedAt[t] !== pos) {
      matchedAt[t] = pos;
      matchLength[t] = terminals[t].nfa.longest(input, pos);
    }
    return matchLength[t];
  };
  const skipMemo = new Map<number, number[]>();
  /** Where a terminal may start after position i: i, then after each run of ignored text. */
  const starts = (i: number): number[] => {
    if (ignore.length === 0) return [i];
    let chain = skipMemo.get(i);
    if (chain) return chain;
    chain = [i];
    for (let pos = i; ; ) {
      let best = 0;
      for (const nfa of ignore) best = Math.max(best, nfa.longest(input, pos));
      if (best <= 0) break;
      pos += best;
      chain.push(pos);
    }
    skipMemo.set(i, chain);
    return chain;
  };
  const add = (pos: number, state: number, origin: number): void => {
    const set = (sets[pos] ??= new ItemSet());
    if (set.has(state, origin, stride)) return;
    set.push(state, origin, stride);
    items++;
  };
  /** Advances the items of set `from` (position j) that wait for `lhs` into set i. */
  const complete = (from: ItemSet, j: number, i: number, lhs: number): void => {
    const { states, origins } = from;
    if (j !== i && states.length > SMALL) {
      if (!from.waiting) {
        from.waiting = new Map();
        for (let k = 0; k < states.length; k++) {
          const symbol = symbolAt[states[k]];
          if (symbol === COMPLETE || symbol < 0) continue;
          const list = from.waiting.get(symbol);
          if (list) list.push(k);
          else from.waiting.set(symbol, [k]);
        }
      }
      for (const k of from.waiting.get(lhs) ?? []) add(i, states[k] + 1, origins[k]);
      return;
    }
    for (let k = 0; k < states.length; k++) if (symbolAt[states[k]] === lhs) add(i, states[k] + 1, origins[k]);
  };

  add(0, tables.startState, 0);
  let far = 0;
  for (let i = 0; i <= n; i++) {
    const set = sets[i];
    if (!set) continue;
    far = i;
    for (let k = 0; k < set.states.length; k++) {
      if (items > maxItems) return { ok: 'undecided' };
      const state = set.states[k];
      const origin = set.origins[k];
      const symbol = symbolAt[state];
      if (symbol === COMPLETE) {
        const lhs = lhsOf[state];
        if (origin === i) emptiedAt[lhs] = i;
        complete(sets[origin]!, origin, i, lhs);
      } else if (symbol >= 0) {
        if (predictedAt[symbol] !== i) {
          predictedAt[symbol] = i;
          for (const first of firstStates[symbol]) add(i, first, i);
        }
        if (emptiedAt[symbol] === i) add(i, state + 1, origin);
      } else {
        const t = ~symbol;
        expectedAt[t] = i;
        for (const start of starts(i)) {
          const len = longest(t, start);
          if (len >= 0) add(start + len, state + 1, origin);
        }
      }
    }
    if (set.has(tables.acceptState, 0, stride) && starts(i).includes(n)) return { ok: true };
  }

  const expected: string[] = [];
  expectedAt.forEach((at, t) => {
    if (at === far) expected.push(terminals[t].label);
  });
  if (sets[far]!.has(tables.acceptState, 0, stride)) expected.push('the end of the input');
  const chain = starts(far);
  return { ok: false, offset: chain[chain.length - 1], expected };
}
