// Draining and checking streamed responses in end-to-end tests: every stream is checked against
// the official schema and the stream rules, and folded with the official SDK's accumulator.
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { assertConformingStream } from './spec.js';

export type Terminal = Extract<ResponseStreamEvent, { type: 'response.completed' | 'response.failed' | 'response.incomplete' }>;

/** Drains a stream into its events. */
export async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/**
 * Checks a finished stream every way we can: the official schema and the stream rules (our
 * checker, which also compares our accumulator with the terminal response), then the SDK's
 * `accumulateResponse`, which throws on any index or ordering error and must rebuild the
 * terminal response's output. Returns the terminal response.
 */
export function conform(events: ResponseStreamEvent[]): ApiResponse {
  assertConformingStream(events as never);
  let snapshot: ApiResponse | undefined;
  for (const event of events.slice(0, -1)) snapshot = accumulateResponse(event, snapshot);
  const last = events.at(-1) as Terminal;
  assert.ok(['response.completed', 'response.failed', 'response.incomplete'].includes(last.type), `ends with ${last.type}`);
  assert.deepEqual(snapshot!.output, last.response.output, 'SDK accumulator rebuilds the terminal output');
  accumulateResponse(last, snapshot); // the terminal event itself is accepted too
  return last.response;
}

/** Retrieves a response until it is no longer running (the engine finishes just after the client left). */
export async function retrieveSettled(client: OpenAI, id: string, timeoutMs = 2000): Promise<ApiResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await client.responses.retrieve(id);
    if (response.status !== 'in_progress' && response.status !== 'queued') return response;
    if (Date.now() > deadline) assert.fail(`response ${id} still ${response.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Creates a streamed response with the SDK, drains it and checks it (`conform`). */
export async function streamResponse(client: OpenAI, body: Record<string, unknown>): Promise<{ events: ResponseStreamEvent[]; response: ApiResponse }> {
  const stream = await client.responses.create({ ...body, stream: true } as never);
  const events = await collect(stream as unknown as AsyncIterable<ResponseStreamEvent>);
  return { events, response: conform(events) };
}
