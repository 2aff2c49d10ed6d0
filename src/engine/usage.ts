import { estimateInputTokens, estimateTokens } from '../models/estimate.js';
import type { ModelRequest, Usage } from '../models/types.js';
import type { ResponseUsage } from '../protocol/types.js';
import type { StepResult } from './step.js';

export const emptyUsage = (): Required<Usage> => ({ inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedInputTokens: 0 });

/** Adds a step's usage: the back-end's figures, or an estimate (4 characters a token) without them. */
export function addStepUsage(total: Required<Usage>, result: StepResult, request: ModelRequest): void {
  const usage = result.usage ?? { inputTokens: estimateInputTokens(request), outputTokens: estimateTokens(result.outputChars) };
  total.inputTokens += usage.inputTokens;
  total.outputTokens += usage.outputTokens;
  total.reasoningTokens += usage.reasoningTokens ?? 0;
  total.cachedInputTokens += usage.cachedInputTokens ?? 0;
}

export function toResponseUsage(usage: Required<Usage>): ResponseUsage {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens, cache_write_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  } as ResponseUsage;
}
