// A deliberately broken Responses server on 127.0.0.1, for `parley check` to catch:
// - a streamed text response skips a sequence number (3 → 5);
// - a streamed function call carries an event type the official schema does not know;
// - a malformed JSON body gets a 500 with a plain-text body;
// - an unknown previous_response_id is ignored (200);
// - background mode is refused (400);
// - with model "stall", a stream starts and never ends.
// Non-streamed text and function calls are correct, so those scenarios must still pass.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BrokenServer {
  url: string;
  close(): Promise<void>;
}

type Json = Record<string, any>;

export async function startBrokenServer(): Promise<BrokenServer> {
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/responses') return sendJson(res, 404, errorBody('Not found.'));
    let body: Json;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
      return;
    }
    if (body.background) return sendJson(res, 400, errorBody('background is not supported'));
    const response = respond(body);
    if (!body.stream) return sendJson(res, 200, response);
    const events = eventsFor(response);
    if (body.model === 'stall') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: response.created\ndata: ${JSON.stringify({ ...events[0], sequence_number: 0 })}\n\n`);
      return;
    }
    if (response.output[0].type === 'function_call') events.splice(3, 0, { type: 'response.function_call.thinking', output_index: 0 });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let seq = 0;
    for (const event of events) {
      // Text streams skip one sequence number just before output_text.done.
      const numbered = { ...event, sequence_number: event.type === 'response.output_text.done' ? seq + 1 : seq };
      seq = numbered.sequence_number + 1;
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(numbered)}\n\n`);
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let counter = 0;

function respond(body: Json): Json {
  const id = `resp_broken${++counter}`;
  const forced = body.tool_choice?.name;
  const output = forced
    ? [{ id: `fc_${counter}`, type: 'function_call', status: 'completed', call_id: `call_${counter}`, name: forced, arguments: '{"city":"Paris"}' }]
    : [
        {
          id: `msg_${counter}`,
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Hello there', annotations: [], logprobs: [] }],
        },
      ];
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'completed',
    background: false,
    completed_at: Math.floor(Date.now() / 1000),
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: null,
    model: body.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: 1,
    truncation: 'disabled',
    metadata: {},
    usage: {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 7,
    },
  };
}

/** The stream that builds `response`, without sequence numbers. */
function eventsFor(response: Json): Json[] {
  const item = response.output[0];
  const started = { ...response, status: 'in_progress', completed_at: null, output: [], usage: undefined };
  const events: Json[] = [
    { type: 'response.created', response: started },
    { type: 'response.in_progress', response: started },
    { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', ...(item.type === 'message' ? { content: [] } : { arguments: '' }) } },
  ];
  if (item.type === 'message') {
    const text = item.content[0].text;
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    events.push(
      { type: 'response.content_part.added', item_id: item.id, output_index: 0, content_index: 0, part },
      ...text.split(/(?= )/).map((delta: string) => ({ type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta, logprobs: [] })),
      { type: 'response.output_text.done', item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] },
      { type: 'response.content_part.done', item_id: item.id, output_index: 0, content_index: 0, part: item.content[0] },
    );
  } else {
    events.push(
      { type: 'response.function_call_arguments.delta', item_id: item.id, output_index: 0, delta: item.arguments },
      { type: 'response.function_call_arguments.done', item_id: item.id, output_index: 0, name: item.name, arguments: item.arguments },
    );
  }
  events.push({ type: 'response.output_item.done', output_index: 0, item }, { type: 'response.completed', response });
  return events;
}

function errorBody(message: string): Json {
  return { error: { message, type: 'invalid_request_error', param: null, code: null } };
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}
