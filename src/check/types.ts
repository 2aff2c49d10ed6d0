// What a conformance scenario is, what it needs, and how it reports the first rule it saw broken.
import type OpenAI from 'openai';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** The first rule broken (`[rule] …`) or the error that stopped the scenario. */
  rule?: string;
  /** A short observation on a passing scenario. */
  note?: string;
  ms: number;
}

export interface CheckContext {
  /** The official SDK pointed at the server under test (`maxRetries: 0`). */
  client: OpenAI;
  /** The base URL as given, without a trailing slash (e.g. `http://127.0.0.1:8080/v1`). */
  baseURL: string;
  apiKey: string;
  model: string;
  /** `fetch` bound to the scenario's deadline, for requests the SDK cannot make (bad JSON). */
  fetch: typeof fetch;
}

export interface Scenario {
  name: string;
  /** Throws a `CheckFailure` (or any error) on the first broken rule; may return a note. */
  run(ctx: CheckContext): Promise<string | void>;
}

/** A broken rule: `rule` reads like `[rule-name] what was wrong`. */
export class CheckFailure extends Error {
  constructor(readonly rule: string) {
    super(rule);
    this.name = 'CheckFailure';
  }
}

export function fail(rule: string): never {
  throw new CheckFailure(rule);
}

export function expect(condition: unknown, rule: string): asserts condition {
  if (!condition) fail(rule);
}
