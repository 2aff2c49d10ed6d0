// The optional config file (PARLEY_CONFIG, YAML or JSON) for what does not fit in environment
// variables: several upstreams, and model ids routed to them with default parameters.
//
//   upstreams:
//     - name: local
//       url: http://localhost:11434/v1
//       protocol: chat-completions          # or anthropic, responses
//       api_key_env: OLLAMA_KEY             # or api_key: …
//       models: [llama3.2]                  # served as they are named; omit = any id (first such upstream)
//   models:
//     - id: fast                            # what clients ask for
//       upstream: local
//       model: llama3.2:3b                  # what the upstream calls it
//       params: { temperature: 0.2, max_output_tokens: 2048, reasoning_effort: low }
//   summary_model: fast
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

export const PROTOCOLS = ['chat-completions', 'anthropic', 'responses'] as const;

const upstream = z.strictObject({
  name: z.string().min(1),
  url: z.url(),
  protocol: z.enum(PROTOCOLS).default('chat-completions'),
  api_key: z.string().optional(),
  api_key_env: z.string().optional(),
  models: z.array(z.string().min(1)).optional(),
  timeout_ms: z.number().int().positive().optional(),
});

const params = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_output_tokens: z.number().int().positive().optional(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).optional(),
});

const route = z.strictObject({
  id: z.string().min(1),
  upstream: z.string().min(1),
  model: z.string().min(1).optional(),
  params: params.optional(),
});

const file = z.strictObject({
  upstreams: z.array(upstream).default([]),
  models: z.array(route).default([]),
  summary_model: z.string().optional(),
});

export type ConfigFile = z.infer<typeof file>;
export type ModelParams = z.infer<typeof params>;

export function loadConfigFile(path: string): ConfigFile {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`PARLEY_CONFIG: cannot read ${path}: ${(error as Error).message}`);
  }
  const result = file.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`PARLEY_CONFIG ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const names = new Set<string>();
  for (const u of result.data.upstreams) {
    if (names.has(u.name)) throw new Error(`PARLEY_CONFIG ${path}: upstream '${u.name}' is named twice`);
    names.add(u.name);
  }
  return result.data;
}
