// image_generation end to end: a loopback OpenAI-compatible Images API that streams real PNG
// previews and a final PNG made in the test, Parley streaming through the official SDK (every
// stream checked against the official schema, the stream rules and the SDK's accumulator), with
// the scripted model and with a loopback Chat Completions upstream that calls the tool.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Response as ApiResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { chunk, startFakeChatUpstream, textScript, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { EDIT_COLOUR, FINAL_COLOUR, startFakeImagesApi, type FakeImagesApi } from '../helpers/fake-images-api.js';
import { decodePng, encodePng } from '../helpers/png.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { streamResponse } from '../helpers/stream.js';

type ImageCall = {
  type: 'image_generation_call';
  id: string;
  status: string;
  result: string | null;
  revised_prompt?: string;
  action?: string;
  size?: string;
  quality?: string;
  background?: string;
  output_format?: string;
};
type PartialImage = Extract<ResponseStreamEvent, { type: 'response.image_generation_call.partial_image' }>;

const imageCalls = (response: ApiResponse) => response.output.filter((i) => i.type === 'image_generation_call') as unknown as ImageCall[];
const answerText = (response: ApiResponse) => {
  const message = response.output.find((i) => i.type === 'message') as unknown as { content: Array<{ text: string }> } | undefined;
  return message?.content[0]?.text ?? '';
};
const partials = (events: ResponseStreamEvent[]) => events.filter((e): e is PartialImage => e.type === 'response.image_generation_call.partial_image');

describe('image_generation with the scripted model', () => {
  let images: FakeImagesApi;
  let server: TestServer;

  before(async () => {
    images = await startFakeImagesApi();
    server = await startTestServer({ PARLEY_IMAGES_URL: images.url, PARLEY_IMAGES_MODEL: 'fake-image-1', PARLEY_IMAGES_API_KEY: 'img-key' });
  });
  after(async () => {
    await server?.close();
    await images?.close();
  });

  const tool = { type: 'image_generation', size: '64x48', quality: 'low', output_format: 'png', background: 'opaque', moderation: 'low', output_compression: 90, partial_images: 2 };

  test('in_progress → generating → partial_image… → completed; the result decodes as a PNG of the requested size', async () => {
    const { events, response } = await streamResponse(server.client, { model: 'scripted', input: '/tool image_generation {"prompt":"a red square"}', tools: [tool] });
    assert.equal(response.status, 'completed');
    const [call] = imageCalls(response);
    const lifecycle = events.filter((e) => ('item_id' in e && e.item_id === call.id) || ('item' in e && (e.item as { id: string }).id === call.id)).map((e) => e.type);
    assert.deepEqual(lifecycle, [
      'response.output_item.added',
      'response.image_generation_call.in_progress',
      'response.image_generation_call.generating',
      'response.image_generation_call.partial_image',
      'response.image_generation_call.partial_image',
      'response.image_generation_call.completed',
      'response.output_item.done',
    ]);
    const previews = partials(events);
    assert.deepEqual(previews.map((p) => p.partial_image_index), [0, 1]);
    for (const preview of previews) {
      const png = decodePng(Buffer.from(preview.partial_image_b64, 'base64'));
      assert.deepEqual([png.width, png.height], [64, 48]);
    }
    assert.equal(call.status, 'completed');
    const png = decodePng(Buffer.from(call.result!, 'base64'));
    assert.deepEqual([png.width, png.height], [64, 48]);
    assert.deepEqual(png.pixel(10, 10), FINAL_COLOUR);
    assert.equal(call.revised_prompt, 'a red square');
    assert.deepEqual([call.action, call.size, call.quality, call.background, call.output_format], ['generate', '64x48', 'low', 'opaque', 'png']);

    // What the Images API was asked.
    const request = images.requests.at(-1)!;
    assert.equal(request.path, '/v1/images/generations');
    assert.equal(request.headers.authorization, 'Bearer img-key');
    assert.deepEqual(request.fields, {
      model: 'fake-image-1',
      prompt: 'a red square',
      n: 1,
      size: '64x48',
      quality: 'low',
      output_format: 'png',
      background: 'opaque',
      output_compression: 90,
      moderation: 'low',
      stream: true,
      partial_images: 2,
    });
    // The model is told, without the image data.
    assert.match(answerText(response), /^Tool results: image_generation returned The image was generated \(64x48 png\)/);
    assert.ok(answerText(response).length < 300);
  });

  test('at most `partial_images` previews are relayed; with 0 the image is asked for without streaming', async () => {
    images.extraPartials = 2;
    try {
      const one = await streamResponse(server.client, { model: 'scripted', input: '/tool image_generation {"prompt":"p"}', tools: [{ ...tool, partial_images: 1 }] });
      assert.equal(partials(one.events).length, 1);
      assert.equal(images.requests.at(-1)!.fields.partial_images, 1);
    } finally {
      images.extraPartials = 0;
    }
    const none = await streamResponse(server.client, { model: 'scripted', input: '/tool image_generation {"prompt":"p"}', tools: [{ type: 'image_generation', size: '16x16' }] });
    assert.equal(partials(none.events).length, 0);
    assert.equal(images.requests.at(-1)!.fields.stream, undefined);
    const png = decodePng(Buffer.from(imageCalls(none.response)[0].result!, 'base64'));
    assert.deepEqual([png.width, png.height], [16, 16]);
  });

  test('multi-turn editing: a follow-up with previous_response_id edits the previous image via /images/edits', async () => {
    const first = await streamResponse(server.client, { model: 'scripted', input: '/tool image_generation {"prompt":"a red square"}', tools: [tool] });
    const previous = Buffer.from(imageCalls(first.response)[0].result!, 'base64');
    const second = await streamResponse(server.client, {
      model: 'scripted',
      previous_response_id: first.response.id,
      input: '/tool image_generation {"prompt":"make it blue"}',
      tools: [{ ...tool, input_fidelity: 'high' }],
    });
    const [call] = imageCalls(second.response);
    assert.equal(call.status, 'completed');
    assert.equal(call.action, 'edit');
    assert.deepEqual(decodePng(Buffer.from(call.result!, 'base64')).pixel(0, 0), EDIT_COLOUR);
    const request = images.requests.at(-1)!;
    assert.equal(request.path, '/v1/images/edits');
    assert.ok(request.files.image?.[0].equals(previous), 'the previous image was sent to be edited');
    assert.equal(request.fields.prompt, 'make it blue');
    assert.equal(request.fields.input_fidelity, 'high');
    assert.equal(request.fields.partial_images, '2');
    assert.equal(partials(second.events).length, 2);

    // The model may still ask for a new image.
    await streamResponse(server.client, { model: 'scripted', previous_response_id: second.response.id, input: '/tool image_generation {"prompt":"a cat","action":"generate"}', tools: [tool] });
    assert.equal(images.requests.at(-1)!.path, '/v1/images/generations');
  });

  test('an input_image in the input (a data: URL), or an image_generation_call item, is what gets edited', async () => {
    const given = encodePng(8, 8, () => [0, 255, 0, 255]);
    await streamResponse(server.client, {
      model: 'scripted',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_image', image_url: `data:image/png;base64,${given.toString('base64')}`, detail: 'auto' },
            { type: 'input_text', text: '/tool image_generation {"prompt":"add a hat"}' },
          ],
        },
      ],
      tools: [tool],
    });
    assert.equal(images.requests.at(-1)!.path, '/v1/images/edits');
    assert.ok(images.requests.at(-1)!.files.image[0].equals(given));

    const earlier = encodePng(4, 4, () => [9, 9, 9, 255]);
    const { response } = await streamResponse(server.client, {
      model: 'scripted',
      input: [
        { type: 'image_generation_call', id: 'ig_earlier', status: 'completed', result: earlier.toString('base64') },
        { role: 'user', content: '/tool image_generation {"prompt":"brighter"}' },
      ],
      tools: [tool],
    });
    assert.equal(imageCalls(response)[0].status, 'completed');
    assert.ok(images.requests.at(-1)!.files.image[0].equals(earlier));
  });

  test('an Images API error fails the call, the model is told why, and the response completes', async () => {
    images.fail(500, { error: { message: 'the image model is out of memory', type: 'server_error' } });
    const { events, response } = await streamResponse(server.client, { model: 'scripted', input: '/tool image_generation {"prompt":"x"}', tools: [tool] });
    assert.equal(response.status, 'completed');
    const [call] = imageCalls(response);
    assert.equal(call.status, 'failed');
    assert.equal(call.result, null);
    assert.ok(!events.some((e) => e.type === 'response.image_generation_call.completed'));
    assert.match(answerText(response), /image_generation failed: the Images API answered HTTP 500: the image model is out of memory/);

    const edit = await streamResponse(server.client, { model: 'scripted', input: '/tool image_generation {"prompt":"x","action":"edit"}', tools: [tool] });
    assert.equal(imageCalls(edit.response)[0].status, 'failed');
    assert.match(answerText(edit.response), /there is no image in the conversation to edit/);
  });

  test('without PARLEY_IMAGES_URL the tool is a 400 naming the setting', async () => {
    const bare = await startTestServer();
    try {
      const res = await fetch(`${bare.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'scripted', input: 'hi', tools: [{ type: 'image_generation' }] }) });
      assert.equal(res.status, 400);
      const { error } = (await res.json()) as { error: { message: string; code: string } };
      assert.equal(error.code, 'unsupported_tool');
      assert.match(error.message, /PARLEY_IMAGES_URL/);
    } finally {
      await bare.close();
    }
  });
});

describe('image_generation over a Chat Completions upstream', () => {
  let images: FakeImagesApi;
  let up: FakeChatUpstream;
  let server: TestServer;
  before(async () => {
    images = await startFakeImagesApi();
    up = await startFakeChatUpstream({ models: ['fake-model'] });
    server = await startTestServer({ PARLEY_UPSTREAM_URL: up.url, PARLEY_UPSTREAM_MODELS: 'fake-model', PARLEY_IMAGES_URL: images.url });
  });
  after(async () => {
    await server?.close();
    await up?.close();
    await images?.close();
  });

  test('the model calls image_generation with a prompt, then answers; partial images stream in between', async () => {
    up.script(
      { chunks: [chunk.toolCall(0, { id: 'call_img', name: 'image_generation', arguments: '{"prompt":"an otter ' }), chunk.toolCall(0, { arguments: 'in watercolour"}' }), chunk.finish('tool_calls')] },
      textScript('Here is your otter.'),
    );
    const { events, response } = await streamResponse(server.client, {
      model: 'fake-model',
      input: 'Paint me an otter.',
      tools: [{ type: 'image_generation', size: '32x24', partial_images: 3 }],
    });
    assert.equal(response.status, 'completed');
    assert.deepEqual(response.output.map((i) => i.type), ['image_generation_call', 'message']);
    const [call] = imageCalls(response);
    assert.equal(call.revised_prompt, 'an otter in watercolour');
    assert.deepEqual(partials(events).map((p) => p.partial_image_index), [0, 1, 2]);
    const png = decodePng(Buffer.from(call.result!, 'base64'));
    assert.deepEqual([png.width, png.height], [32, 24]);
    assert.equal(answerText(response), 'Here is your otter.');
    const offered = up.requests[0].tools.map((t: { function: { name: string } }) => t.function.name);
    assert.deepEqual(offered, ['image_generation']);
    const toolMessage = up.requests[1].messages.find((m: { role: string }) => m.role === 'tool');
    assert.match(toolMessage.content, /The image was generated \(32x24 png\)/);
    assert.ok(!toolMessage.content.includes(call.result!.slice(0, 40)), 'the model is not sent the image data');
  });
});
