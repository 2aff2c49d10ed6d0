import { estimateInputTokens, estimateTokens } from '../models/estimate.js';
import type { ModelRequest } from '../models/types.js';
import type { ResponseUsage } from '../protocol/types.js';
import type { StepResult } from './step.js';

/** The response's usage: the back-end's figures, or an estimate (4 characters a token) without them. */
export function toResponseUsage(result: StepResult, request: ModelRequest): ResponseUsage {
  const usage = result.usage ?? {
    inputTokens: estimateInputTokens(request),
    outputTokens: estimateTokens(result.outputChars),
  };
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, cache_write_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  } as ResponseUsage;
}
