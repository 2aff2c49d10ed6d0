// Reading what a server sent, exactly as it went over the wire, and holding it to the project's
// one rule set: `verifyStream` for event streams, the official schema for JSON bodies.
import { createParser } from 'eventsource-parser';
import { validateSchema } from '../protocol/schema.js';
import type { ResponseObject, ResponseStreamEvent } from '../protocol/types.js';
import { verifyStream } from '../protocol/verify.js';
import { expect, fail } from './types.js';

export type WireEvent = ResponseStreamEvent & { [field: string]: unknown };

/** Parses an SSE body into its events; framing problems are broken `[sse]` rules. */
export async function readEvents(response: Response): Promise<WireEvent[]> {
  const contentType = response.headers.get('content-type') ?? '';
  expect(contentType.startsWith('text/event-stream'), `[sse] content-type ${JSON.stringify(contentType)}, expected text/event-stream`);
  expect(response.body, '[sse] the response has no body');
  const events: WireEvent[] = [];
  let problem: string | null = null;
  const parser = createParser({
    onEvent({ event: name, data }) {
      if (problem || data === '[DONE]') return;
      let event: WireEvent;
      try {
        event = JSON.parse(data);
      } catch {
        problem = `[sse] event #${events.length}: data is not JSON: ${data.slice(0, 80)}`;
        return;
      }
      if (name !== undefined && name !== event?.type) {
        problem = `[sse] event #${events.length}: SSE event name ${JSON.stringify(name)} differs from type ${JSON.stringify(event?.type)}`;
        return;
      }
      events.push(event);
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  if (problem) fail(problem);
  return events;
}

/** Every rule of the event contract; the first problem fails the scenario. */
export function verifyEvents(events: WireEvent[], opts: { background?: boolean } = {}): void {
  const [first] = verifyStream(events, opts);
  if (first) fail(first);
}

/** The terminal response of a verified stream. */
export function finalResponse(events: WireEvent[]): ResponseObject {
  const last = events.at(-1);
  expect(last && 'response' in last, `[terminal] the stream ends with ${last?.type ?? 'nothing'}, not a response`);
  return last.response as unknown as ResponseObject;
}

/** A non-streamed body, read as JSON and checked against the official Response schema. */
export async function readResponse(response: Response): Promise<ResponseObject> {
  const body = await readJson(response);
  checkResponse(body);
  return body as ResponseObject;
}

function checkResponse(body: unknown): void {
  const error = validateSchema('Response', body);
  if (error) fail(`[schema] ${error}`);
}

export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return fail(`[json-body] HTTP ${response.status} body is not JSON: ${text.slice(0, 80)}`);
  }
}

/** An OpenAI-shaped error body: `{"error": {message, type, param, code}}`. */
export function checkErrorBody(body: unknown): void {
  const error = (body as { error?: unknown } | null)?.error;
  expect(error && typeof error === 'object', `[error-body] no "error" object in ${String(JSON.stringify(body)).slice(0, 80)}`);
  const problem = validateSchema('Error', error);
  if (problem) fail(`[error-body] ${problem}`);
}

export function expectStatus(response: ResponseObject, status: ResponseObject['status']): void {
  if (response.status === status) return;
  const why = response.error?.message ?? response.incomplete_details?.reason;
  fail(`[status] response status ${response.status}, expected ${status}${why ? ` (${why})` : ''}`);
}

/** What the SDK calls `output_text`: the text of every output_text part, in order. */
export function outputText(response: ResponseObject): string {
  return response.output
    .flatMap((item) => (item.type === 'message' ? item.content : []))
    .map((part) => (part.type === 'output_text' ? part.text : ''))
    .join('');
}

export function expectText(response: ResponseObject): string {
  const text = outputText(response);
  expect(text.trim(), '[output] output_text is empty');
  return text;
}

export function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
