// Text scenarios: plain, streamed, with instructions, structured (json_schema) and with an image.
import { pngDataUrl, solidPng } from './png.js';
import { expect, fail, type Scenario } from './types.js';
import { clip, expectStatus, expectText, finalResponse, readEvents, readResponse, verifyEvents } from './wire.js';

const HELLO = 'Say hello in one word.';

export const basicText: Scenario = {
  name: 'basic text',
  async run({ client, model }) {
    const response = await readResponse(await client.responses.create({ model, input: HELLO }).asResponse());
    expectStatus(response, 'completed');
    return `output_text ${JSON.stringify(clip(expectText(response)))}`;
  },
};

export const streaming: Scenario = {
  name: 'streaming',
  async run({ client, model }) {
    const events = await readEvents(await client.responses.create({ model, input: HELLO, stream: true }).asResponse());
    verifyEvents(events);
    const response = finalResponse(events);
    expectStatus(response, 'completed');
    expectText(response);
    return `${events.length} events verified`;
  },
};

export const instructions: Scenario = {
  name: 'instructions',
  async run({ client, model }) {
    const text = 'You are terse. Answer in one word.';
    const response = await readResponse(await client.responses.create({ model, instructions: text, input: HELLO }).asResponse());
    expectStatus(response, 'completed');
    const output = expectText(response);
    expect(response.instructions === text, `[instructions] response.instructions is ${JSON.stringify(response.instructions)}, not the request's`);
    return `output_text ${JSON.stringify(clip(output))}`;
  },
};

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, temperature_c: { type: 'number' } },
  required: ['city', 'temperature_c'],
  additionalProperties: false,
};

export const structuredOutput: Scenario = {
  name: 'structured output',
  async run({ client, model }) {
    const request = client.responses.create({
      model,
      input: 'It is 18 degrees Celsius in Paris. Report the city and its temperature.',
      text: { format: { type: 'json_schema', name: 'weather', schema: WEATHER_SCHEMA, strict: true } },
    });
    const response = await readResponse(await request.asResponse());
    expectStatus(response, 'completed');
    const text = expectText(response);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      fail(`[structured-output] output_text is not JSON: ${clip(text)}`);
    }
    expect(value && typeof value === 'object' && !Array.isArray(value), `[structured-output] output_text is not a JSON object: ${clip(text)}`);
    const missing = WEATHER_SCHEMA.required.filter((key) => !(key in value));
    expect(!missing.length, `[structured-output] required key(s) ${missing.join(', ')} missing from ${clip(text)}`);
    return clip(text);
  },
};

export const imageInput: Scenario = {
  name: 'image input',
  async run({ client, model }) {
    const image = pngDataUrl(solidPng(16, [220, 30, 30]));
    const request = client.responses.create({
      model,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What colour is this image? Answer in one word.' },
            { type: 'input_image', image_url: image, detail: 'low' },
          ],
        },
      ],
    });
    const response = await readResponse(await request.asResponse());
    expectStatus(response, 'completed');
    return `output_text ${JSON.stringify(clip(expectText(response)))}`;
  },
};
