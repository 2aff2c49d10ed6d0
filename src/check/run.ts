// Runs the conformance scenarios, one after another, against any Responses server.
import OpenAI, { APIError } from 'openai';
import { backgroundResume, cancel } from './background.js';
import { malformedJson, unknownPreviousResponse } from './errors.js';
import { basicText, imageInput, instructions, streaming, structuredOutput } from './text.js';
import { functionCall, functionCallStreaming, multiTurn } from './tools.js';
import { CheckFailure, type CheckContext, type CheckResult, type Scenario } from './types.js';

export const SCENARIOS: Scenario[] = [
  basicText,
  streaming,
  instructions,
  functionCall,
  functionCallStreaming,
  multiTurn,
  structuredOutput,
  imageInput,
  backgroundResume,
  cancel,
  malformedJson,
  unknownPreviousResponse,
];

/** Parley's deterministic model; pass `--model` for any other server. */
export const DEFAULT_MODEL = 'scripted';

export interface CheckOptions {
  baseURL: string;
  model?: string;
  apiKey?: string;
  /** Only the scenarios whose name contains this (case-insensitive). */
  filter?: string;
  /** Per scenario, streams included (default 60 s). */
  timeoutMs?: number;
}

export function selectScenarios(filter?: string): Scenario[] {
  const wanted = filter?.toLowerCase();
  return wanted ? SCENARIOS.filter((s) => s.name.toLowerCase().includes(wanted)) : SCENARIOS;
}

export async function runCheck(opts: CheckOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const scenario of selectScenarios(opts.filter)) results.push(await runScenario(scenario, opts));
  return results;
}

export async function runScenario(scenario: Scenario, opts: CheckOptions): Promise<CheckResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const timedOut = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason)));
  const started = performance.now();
  const result = (fields: Omit<CheckResult, 'name' | 'ms'>) => ({ name: scenario.name, ...fields, ms: Math.round(performance.now() - started) });
  try {
    const note = await Promise.race([scenario.run(contextFor(opts, deadline.signal, timeoutMs)), timedOut]);
    return result({ ok: true, ...(note ? { note } : {}) });
  } catch (error) {
    return result({ ok: false, rule: deadline.signal.aborted ? `[timeout] no result within ${timeoutMs} ms` : describeError(error) });
  } finally {
    clearTimeout(timer);
  }
}

/** The SDK (and raw fetch) for one scenario: every request, body included, ends at its deadline. */
function contextFor(opts: CheckOptions, deadline: AbortSignal, timeoutMs: number): CheckContext {
  const baseURL = opts.baseURL.replace(/\/+$/, '');
  const apiKey = opts.apiKey ?? 'unused';
  const fetchUntilDeadline: typeof fetch = (input, init) =>
    fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: timeoutMs, fetch: fetchUntilDeadline });
  return { client, fetch: fetchUntilDeadline, baseURL, apiKey, model: opts.model ?? DEFAULT_MODEL };
}

function describeError(error: unknown): string {
  if (error instanceof CheckFailure) return error.rule;
  if (error instanceof APIError) {
    const status = error.status ?? 'no response';
    const message = (error.error as { message?: unknown } | undefined)?.message ?? error.message;
    return `[http] ${status}: ${String(message).replace(/\s+/g, ' ')}`;
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = error.cause as { code?: string; message?: string } | undefined;
    return `[http] no response: ${cause?.code ?? cause?.message ?? error.message}`;
  }
  return `[error] ${error instanceof Error ? error.message : String(error)}`;
}
