// The request body of POST /v1/responses, validated as leniently as OpenAI does: known fields
// are type-checked, fields that change nothing here are accepted and ignored.
import { z } from 'zod';
import { badRequest, type ApiError } from './errors.js';

const item = z.looseObject({ type: z.string().optional(), role: z.string().optional() });

const textFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
    description: z.string().nullish(),
  }),
]);

const tool = z.looseObject({ type: z.string() });

export const createResponseRequest = z.looseObject({
  model: z.string().min(1).optional(),
  input: z.union([z.string(), z.array(item)]).optional(),
  instructions: z.string().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  conversation: z.unknown().optional(),
  stream: z.boolean().nullish(),
  background: z.boolean().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  max_tool_calls: z.number().int().min(1).nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: textFormat.optional(), verbosity: z.string().nullish() }).nullish(),
  reasoning: z
    .looseObject({
      effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullish(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
      generate_summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
    })
    .nullish(),
  include: z.array(z.string()).nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  user: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});

export type CreateResponseRequest = z.infer<typeof createResponseRequest>;

/** Parses a request body; the first problem becomes an OpenAI-shaped 400 naming its field. */
export function parseCreateRequest(body: unknown): CreateResponseRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  const result = createResponseRequest.safeParse(body);
  if (result.success) {
    const metadata = result.data.metadata;
    if (metadata && Object.keys(metadata).length > 16) {
      throw badRequest('Invalid metadata: at most 16 keys are allowed.', 'metadata', 'invalid_value');
    }
    return result.data;
  }
  throw zodToApiError(result.error);
}

export function zodToApiError(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const param = formatPath(issue.path);
  const where = param ? `'${param}'` : 'the request body';
  if (issue.code === 'invalid_type') {
    return badRequest(`Invalid type for ${where}: expected ${issue.expected}.`, param, 'invalid_type');
  }
  return badRequest(`Invalid value for ${where}: ${issue.message}.`, param, 'invalid_value');
}

function formatPath(path: PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}
