// Requests that must fail cleanly: a 4xx with an OpenAI-shaped error body.
import { APIError } from 'openai';
import { expect, fail, type Scenario } from './types.js';
import { checkErrorBody, readJson } from './wire.js';

export const malformedJson: Scenario = {
  name: 'malformed json',
  async run({ baseURL, apiKey, fetch }) {
    const response = await fetch(`${baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: '{"model": "x", "input": ',
    });
    if (response.status !== 400) {
      await response.body?.cancel();
      fail(`[http] status ${response.status}, expected 400 for a malformed JSON body`);
    }
    const body = await readJson(response);
    checkErrorBody(body);
    return `400 ${(body as { error: { code: string | null } }).error.code ?? ''}`.trimEnd();
  },
};

export const unknownPreviousResponse: Scenario = {
  name: 'unknown previous_response_id',
  async run({ client, model }) {
    const request = client.responses.create({ model, input: 'Hello', previous_response_id: 'resp_0000000000000000parleycheck' });
    const outcome = await request.asResponse().catch((error: unknown) => error);
    if (outcome instanceof Response) fail(`[http] status ${outcome.status}, expected 4xx for an unknown previous_response_id`);
    if (!(outcome instanceof APIError) || outcome.status === undefined) throw outcome;
    expect(outcome.status >= 400 && outcome.status < 500, `[http] status ${outcome.status}, expected 4xx for an unknown previous_response_id`);
    checkErrorBody({ error: outcome.error });
    return `${outcome.status}`;
  },
};
