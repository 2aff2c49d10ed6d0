// Function calling: a forced `get_weather` call (so any real model and Parley's scripted model
// agree), streamed and not, then a second turn that answers it via previous_response_id.
import type { FunctionTool, ResponseCreateParamsBase } from 'openai/resources/responses/responses';
import type { ResponseFunctionToolCall, ResponseObject } from '../protocol/types.js';
import { expect, type CheckContext, type Scenario } from './types.js';
import { clip, expectStatus, expectText, finalResponse, readEvents, readResponse, verifyEvents } from './wire.js';

const GET_WEATHER: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Get the current weather for a city.',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', description: 'The city name' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

const ASK: Pick<ResponseCreateParamsBase, 'input' | 'tools' | 'tool_choice'> = {
  input: 'What is the weather in Paris right now?',
  tools: [GET_WEATHER],
  tool_choice: { type: 'function', name: 'get_weather' },
};

/** The get_weather call in a response's output, with arguments that parse as a JSON object. */
function weatherCall(response: ResponseObject): ResponseFunctionToolCall {
  expectStatus(response, 'completed');
  const call = response.output.find((item): item is ResponseFunctionToolCall => item.type === 'function_call');
  const types = response.output.map((item) => item.type).join(', ') || 'nothing';
  expect(call, `[function-call] no function_call item in the output (${types})`);
  expect(call.name === 'get_weather', `[function-call] called ${JSON.stringify(call.name)}, expected get_weather`);
  expect(typeof call.call_id === 'string' && call.call_id, '[function-call] the function_call has no call_id');
  let args: unknown;
  try {
    args = JSON.parse(call.arguments);
  } catch {
    expect(false, `[function-call] arguments are not JSON: ${call.arguments.slice(0, 60)}`);
  }
  expect(args && typeof args === 'object' && !Array.isArray(args), `[function-call] arguments are not a JSON object: ${call.arguments}`);
  return call;
}

async function callWeather({ client, model }: CheckContext): Promise<{ response: ResponseObject; call: ResponseFunctionToolCall }> {
  const response = await readResponse(await client.responses.create({ model, ...ASK }).asResponse());
  return { response, call: weatherCall(response) };
}

export const functionCall: Scenario = {
  name: 'function call',
  async run(ctx) {
    const { call } = await callWeather(ctx);
    return `get_weather(${call.arguments})`;
  },
};

export const functionCallStreaming: Scenario = {
  name: 'function call streaming',
  async run({ client, model }) {
    const events = await readEvents(await client.responses.create({ model, ...ASK, stream: true }).asResponse());
    verifyEvents(events);
    const call = weatherCall(finalResponse(events));
    return `${events.length} events verified; get_weather(${call.arguments})`;
  },
};

export const multiTurn: Scenario = {
  name: 'multi-turn',
  async run(ctx) {
    const first = await callWeather(ctx);
    const output = JSON.stringify({ city: 'Paris', temperature_c: 18, conditions: 'sunny' });
    const request = ctx.client.responses.create({
      model: ctx.model,
      previous_response_id: first.response.id,
      input: [{ type: 'function_call_output', call_id: first.call.call_id, output }],
      tools: [GET_WEATHER],
      stream: true,
    });
    const events = await readEvents(await request.asResponse());
    verifyEvents(events);
    const response = finalResponse(events);
    expectStatus(response, 'completed');
    const text = expectText(response);
    expect(
      response.previous_response_id === first.response.id,
      `[previous-response] previous_response_id is ${JSON.stringify(response.previous_response_id)}, expected ${first.response.id}`,
    );
    return `output_text ${JSON.stringify(clip(text))}`;
  },
};
