// A Thompson NFA for a parsed regular expression, simulated breadth-first (every thread at
// once, no backtracking): time is linear in the input for any pattern, so a client's grammar
// cannot make the server spin. Inputs are arrays of code points.
import type { AssertTest, CharTest, RegexNode } from './regex-syntax.js';

const CHAR = 0;
const SPLIT = 1;
const ASSERT = 2;
const MATCH = 3;

/** Patterns compiling to more states than this are refused (Rust's regex has a size limit too). */
export const MAX_STATES = 200_000;

export class PatternTooLargeError extends Error {}

export interface FullMatch {
  matched: boolean;
  /**
   * When not matched: where the input stopped matching — the index of the first character no
   * thread could take, or the input's length when it ended before the pattern did.
   */
  failedAt: number;
}

export class Nfa {
  private readonly op: number[] = [];
  private readonly out1: number[] = [];
  private readonly out2: number[] = [];
  private readonly tests: Array<CharTest | AssertTest | null> = [];
  private readonly start: number;
  /** Generation marks for the closure: a state is in the current list when mark === gen. */
  private mark = new Uint32Array(0);
  private gen = 0;
  private readonly stack: number[] = [];
  private readonly lists: [number[], number[]] = [[], []];

  constructor(node: RegexNode) {
    const match = this.state(MATCH, -1, -1, null);
    this.start = this.emit(node, match);
    this.mark = new Uint32Array(this.op.length);
  }

  get size(): number {
    return this.op.length;
  }

  /** The length of the longest match starting at `start`, or -1. */
  longest(input: readonly number[], start: number): number {
    let longest = -1;
    this.simulate(input, start, (end) => {
      longest = end - start;
    });
    return longest;
  }

  /** Whether the whole input matches, and if not where it stopped matching. */
  fullMatch(input: readonly number[]): FullMatch {
    let lastEnd = -1;
    const stoppedAt = this.simulate(input, 0, (end) => {
      lastEnd = end;
    });
    if (lastEnd === input.length) return { matched: true, failedAt: -1 };
    return { matched: false, failedAt: stoppedAt };
  }

  /**
   * Runs every thread from `start`; calls `onMatch(end)` for each end of a match, in order.
   * Returns where it stopped: the index of the first character no thread could take, or the
   * input's length.
   */
  private simulate(input: readonly number[], start: number, onMatch: (end: number) => void): number {
    let current = this.lists[0];
    let next = this.lists[1];
    current.length = 0;
    this.gen++;
    this.closure(this.start, input, start, current);
    for (let pos = start; ; pos++) {
      let alive = false;
      for (const s of current) {
        if (this.op[s] === MATCH) onMatch(pos);
        else alive = true;
      }
      if (!alive || pos === input.length) return pos;
      const cp = input[pos];
      next.length = 0;
      this.gen++;
      for (const s of current) {
        if (this.op[s] === CHAR && (this.tests[s] as CharTest)(cp)) this.closure(this.out1[s], input, pos + 1, next);
      }
      if (next.length === 0) return pos;
      [current, next] = [next, current];
    }
  }

  /** Adds `s` and every state reachable from it without input to `list` (CHAR and MATCH states only). */
  private closure(s: number, input: readonly number[], pos: number, list: number[]): void {
    const gen = this.gen;
    const stack = this.stack;
    stack.length = 0;
    stack.push(s);
    while (stack.length) {
      const state = stack.pop()!;
      if (this.mark[state] === gen) continue;
      this.mark[state] = gen;
      switch (this.op[state]) {
        case SPLIT:
          stack.push(this.out2[state], this.out1[state]);
          break;
        case ASSERT:
          if ((this.tests[state] as AssertTest)(input, pos)) stack.push(this.out1[state]);
          break;
        default:
          list.push(state);
      }
    }
  }

  private state(op: number, out1: number, out2: number, test: CharTest | AssertTest | null): number {
    if (this.op.length >= MAX_STATES) throw new PatternTooLargeError(`the pattern is too large (over ${MAX_STATES} states once repetitions are expanded)`);
    this.op.push(op);
    this.out1.push(out1);
    this.out2.push(out2);
    this.tests.push(test);
    return this.op.length - 1;
  }

  /** Builds `node` so that it continues to `next`; returns its entry state. */
  private emit(node: RegexNode, next: number): number {
    switch (node.type) {
      case 'empty':
        return next;
      case 'char':
        return this.state(CHAR, next, -1, node.test);
      case 'assert':
        return this.state(ASSERT, next, -1, node.test);
      case 'seq': {
        let entry = next;
        for (let i = node.items.length - 1; i >= 0; i--) entry = this.emit(node.items[i], entry);
        return entry;
      }
      case 'alt': {
        const entries = node.items.map((item) => this.emit(item, next));
        let entry = entries[entries.length - 1];
        for (let i = entries.length - 2; i >= 0; i--) entry = this.state(SPLIT, entries[i], entry, null);
        return entry;
      }
      case 'repeat': {
        let entry = next;
        if (node.max === Infinity) {
          const loop = this.state(SPLIT, -1, next, null);
          this.out1[loop] = this.emit(node.node, loop);
          entry = loop;
        } else {
          for (let i = node.min; i < node.max; i++) entry = this.state(SPLIT, this.emit(node.node, entry), next, null);
        }
        for (let i = 0; i < node.min; i++) entry = this.emit(node.node, entry);
        return entry;
      }
    }
  }
}
