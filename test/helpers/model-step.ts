// One model step of a back-end in tests: a complete ModelRequest with defaults, and the parts
// the back-end pushes for it.
import assert from 'node:assert/strict';
import type { ModelBackend, ModelPart, ModelRequest } from '../../src/models/types.js';

export function modelRequest(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    model: 'fake-model',
    instructions: null,
    input: [{ role: 'user', content: 'Hi' }],
    tools: [],
    toolChoice: 'auto',
    parallelToolCalls: true,
    textFormat: { type: 'text' },
    temperature: null,
    topP: null,
    maxOutputTokens: null,
    reasoning: null,
    metadata: null,
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** Runs a step; returns the parts it pushed. */
export async function runStep(backend: ModelBackend, request: ModelRequest): Promise<ModelPart[]> {
  const parts: ModelPart[] = [];
  await backend.stream(request, (part) => parts.push(part));
  return parts;
}

/** Runs a step that must fail; returns the error and the parts pushed before it. */
export async function runFailingStep(backend: ModelBackend, request: ModelRequest): Promise<{ error: unknown; parts: ModelPart[] }> {
  const parts: ModelPart[] = [];
  try {
    await backend.stream(request, (part) => parts.push(part));
  } catch (error) {
    return { error, parts };
  }
  assert.fail('the step should have failed');
}
