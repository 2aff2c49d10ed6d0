// The Response object a new run starts from.
import { newId } from './ids.js';
import type { CreateResponseRequest } from './request.js';
import type { ResponseObject } from './types.js';

/** A new response as `response.created` announces it: the request's settings, no output yet. */
export function newResponseObject(
  request: CreateResponseRequest = {},
  model = 'scripted',
  background = false,
  stored = true,
): ResponseObject {
  const response = {
    id: newId('resp'),
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: background ? 'queued' : 'in_progress',
    background,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: request.max_tool_calls ?? null,
    model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
    service_tier: 'default',
    store: stored,
    temperature: request.temperature ?? 1,
    text: { format: request.text?.format ?? { type: 'text' }, verbosity: request.text?.verbosity ?? 'medium' },
    tool_choice: request.tool_choice ?? 'auto',
    tools: withoutSecrets(request.tools ?? []),
    top_logprobs: request.top_logprobs ?? 0,
    top_p: request.top_p ?? 1,
    truncation: request.truncation ?? 'disabled',
    metadata: request.metadata ?? {},
    ...(request.user ? { user: request.user } : {}),
    ...(request.safety_identifier ? { safety_identifier: request.safety_identifier } : {}),
    ...(request.prompt_cache_key ? { prompt_cache_key: request.prompt_cache_key } : {}),
  };
  return response as unknown as ResponseObject;
}

/**
 * The tools as the response shows and stores them: an mcp tool's `authorization` is left out and
 * its header values are redacted (the client sends them again with each request that needs them).
 */
function withoutSecrets(tools: NonNullable<CreateResponseRequest['tools']>): NonNullable<CreateResponseRequest['tools']> {
  return tools.map((tool) => {
    const t = tool as { type?: string; authorization?: unknown; headers?: unknown };
    if (t.type !== 'mcp' || (t.authorization === undefined && !t.headers)) return tool;
    const { authorization: _secret, ...rest } = t;
    const headers = t.headers && typeof t.headers === 'object' ? Object.fromEntries(Object.keys(t.headers).map((name) => [name, '[redacted]'])) : t.headers;
    return { ...rest, ...(headers !== undefined && { headers }) } as typeof tool;
  });
}
