// The turn loop: model steps until the model answers, hands calls to the client, or runs out of
// room. Built-in tool calls run between steps, and the model reads their results in the next
// step as the function calls and outputs it was offered; so does a custom tool call whose input
// does not match the tool's grammar, with the error as its output (checked-custom-call.ts).
import type { Logger } from '../log.js';
import type { FinishReason, ModelBackend, ModelRequest, PartSink, Usage } from '../models/types.js';
import type { ResponseInputItem, ResponseObject } from '../protocol/types.js';
import type { EventWriter } from '../protocol/writer.js';
import type { ClientTools } from '../tools/client-tools.js';
import { MAX_GRAMMAR_RETRIES } from './checked-custom-call.js';
import { stepSink, type PendingServerCall } from './step.js';
import type { SummarisingSink } from './summaries.js';
import { addStepUsage } from './usage.js';

/** A response never takes more model steps than this. */
export const MAX_STEPS = 16;

export interface Turn {
  writer: EventWriter;
  backend: ModelBackend;
  request: ModelRequest;
  tools: ClientTools;
  include: readonly string[];
  /** `max_tool_calls`: built-in tool calls allowed in this response. */
  maxToolCalls: number | null;
  /** Wraps each step's sink (reasoning summaries), if wanted. */
  wrap: ((sink: PartSink) => SummarisingSink) | null;
  /** Summed over the steps; kept by the caller so that a failed turn still reports it. */
  usage: Required<Usage>;
  /** For what is worth a line in the server log (a dropped citation). */
  logger?: Logger;
}

const MODEL_ITEMS = new Set(['message', 'reasoning']);

/** Runs the steps; resolves with how the last one finished. */
export async function runTurn(turn: Turn): Promise<FinishReason | null> {
  const { writer, tools } = turn;
  // Built-in tools that need work before the model can use them (mcp: list the tools, run approved calls).
  const prepared = turn.backend.hostsBuiltInTools
    ? []
    : await tools.prepare({ writer, signal: turn.request.signal, include: turn.include, citations: tools.citations });
  // Computed per step: a tool search adds functions as the turn goes.
  const clientFunctions = () => tools.functions.filter((f) => tools.fromModel(f.name).kind !== 'server');
  let input = prepared.length ? [...turn.request.input, ...prepared] : turn.request.input;
  let toolCalls = 0;
  let grammarRetries = 0;

  for (let step = 1; ; step++) {
    const mayCallTools = turn.maxToolCalls === null || toolCalls < turn.maxToolCalls;
    const request: ModelRequest = {
      ...turn.request,
      input,
      tools: (mayCallTools ? tools.functions : clientFunctions()) as unknown as ModelRequest['tools'],
    };
    const firstItem = writer.response.output.length;
    const { sink, result, settled } = stepSink(writer, tools, { writer, signal: request.signal, include: turn.include, citations: tools.citations, logger: turn.logger });
    const wrapped = turn.wrap?.(sink) ?? null;
    try {
      await turn.backend.stream(request, wrapped?.sink ?? sink);
      await wrapped?.settled();
      await settled();
    } catch (error) {
      wrapped?.abort();
      throw error;
    } finally {
      addStepUsage(turn.usage, result, request);
    }

    // Inputs that do not match their custom tool's grammar: the model gets its call and the
    // error in another step, unless the retries are spent, the step was cut short or it hands
    // other calls to the client; then the calls are written out as they are.
    const retry =
      result.invalidCalls.length > 0 &&
      grammarRetries < MAX_GRAMMAR_RETRIES &&
      step < MAX_STEPS &&
      result.finish !== 'length' &&
      result.finish !== 'content-filter' &&
      !handsCallsToClient(writer.response.output.slice(firstItem));
    if (retry) grammarRetries++;
    else for (const call of result.invalidCalls) call.write();

    if (result.finish === 'length' || result.finish === 'content-filter' || (result.serverCalls.length === 0 && !retry)) {
      return result.finish;
    }
    const outputs: string[] = [];
    for (const call of result.serverCalls) outputs.push(await call.call.run());
    toolCalls += result.serverCalls.length;

    const stepItems = writer.response.output.slice(firstItem);
    if (handsCallsToClient(stepItems) || step >= MAX_STEPS) return 'tool-calls';
    const retries = retry ? result.invalidCalls.flatMap((call) => call.retryInput()) : [];
    input = [...input, ...modelView(stepItems, result.serverCalls, outputs), ...retries];
  }
}

function handsCallsToClient(items: ResponseObject['output']): boolean {
  // An mcp_approval_request waits for the client's mcp_approval_response in its next request; a
  // client-executed tool_search_call for the client's tool_search_output.
  return items.some(
    (item) =>
      item.type === 'function_call' ||
      item.type === 'custom_tool_call' ||
      item.type === 'mcp_approval_request' ||
      (item.type === 'tool_search_call' && item.execution === 'client'),
  );
}

/** The step as the model made it: its messages and reasoning, then each tool call and its result. */
function modelView(items: ResponseObject['output'], calls: PendingServerCall[], outputs: string[]): ResponseInputItem[] {
  const view = items.filter((item) => MODEL_ITEMS.has(item.type)) as unknown as ResponseInputItem[];
  calls.forEach((call, i) => {
    view.push(
      { type: 'function_call', call_id: call.callId, name: call.name, arguments: call.arguments } as ResponseInputItem,
      { type: 'function_call_output', call_id: call.callId, output: outputs[i] } as ResponseInputItem,
    );
  });
  return view;
}
