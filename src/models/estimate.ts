import type { ModelRequest } from './types.js';

/** A rough token count (4 characters a token), for back-ends that report no usage. */
export const estimateTokens = (chars: number) => Math.ceil(chars / 4);

export const estimateInputTokens = (request: ModelRequest) =>
  estimateTokens((request.instructions ?? '').length + JSON.stringify(request.input).length);
