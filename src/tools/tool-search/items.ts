// The two items of tool search. A `tool_search_call` and a `tool_search_output` have no events
// of their own: each is announced (output_item.added) and closed (output_item.done). A search
// Parley runs (execution "server") has `call_id: null`, as OpenAI's hosted search does; a call
// handed to the client carries the model's call id, which the client's output repeats.
import { newId } from '../../protocol/ids.js';
import type { ResponseInputItem, Tool } from '../../protocol/types.js';
import type { EventWriter } from '../../protocol/writer.js';
import type { ToolDefinition } from './catalog.js';
import type { ToolSearchExecution } from './declaration.js';

interface ToolSearchItem {
  type: 'tool_search_call' | 'tool_search_output';
  id?: string;
  call_id?: string | null;
  execution?: ToolSearchExecution;
  arguments?: unknown;
  tools?: unknown;
  status?: string | null;
}

export const isToolSearchItem = (type: unknown): type is ToolSearchItem['type'] => type === 'tool_search_call' || type === 'tool_search_output';

/** The model's arguments as the item keeps them: the JSON object it wrote, else its text as it is. */
export function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : text;
  } catch {
    return text;
  }
}

export function writeToolSearchCall(writer: EventWriter, execution: ToolSearchExecution, callId: string | null, args: unknown): void {
  const item = { id: newId('tsc'), type: 'tool_search_call' as const, execution, call_id: callId, arguments: args, status: 'in_progress' as 'in_progress' | 'completed' };
  const open = writer.openToolItem(item);
  item.status = 'completed';
  open.done();
}

export function writeToolSearchOutput(writer: EventWriter, execution: ToolSearchExecution, callId: string | null, tools: ToolDefinition[]): void {
  const item = {
    id: newId('tso'),
    type: 'tool_search_output' as const,
    execution,
    call_id: callId,
    tools: tools as unknown as Tool[],
    status: 'in_progress' as 'in_progress' | 'completed',
  };
  const open = writer.openToolItem(item);
  item.status = 'completed';
  open.done();
}

/** A client-executed search as the model writes it: the item is written once its arguments are complete. */
export class ClientToolSearchCall {
  private text = '';

  constructor(
    private readonly writer: EventWriter,
    private readonly callId: string,
  ) {}

  delta(argumentsDelta: string): void {
    this.text += argumentsDelta;
  }

  done(): void {
    writeToolSearchCall(this.writer, 'client', this.callId, parseArguments(this.text));
  }
}

/**
 * The fields an input item may leave out, filled in as the stored item shows them: the id, no
 * call id, and `execution` "client" when the item has a call id ("server" searches have none).
 */
export function withToolSearchDefaults(item: ToolSearchItem & { id: string }): ToolSearchItem & { id: string } {
  const callId = typeof item.call_id === 'string' ? item.call_id : null;
  return {
    ...item,
    call_id: callId,
    execution: item.execution ?? (callId ? 'client' : 'server'),
    ...(item.type === 'tool_search_call' && { arguments: item.arguments ?? {} }),
    status: item.status ?? 'completed',
  };
}

/** The tools every tool_search_output of the context loaded, in order. */
export function loadedTools(context: readonly unknown[]): ToolDefinition[] {
  return context.flatMap((raw) => {
    const item = raw as Partial<ToolSearchItem> | null;
    if (item?.type !== 'tool_search_output' || !Array.isArray(item.tools)) return [];
    return (item.tools as ToolDefinition[]).filter((tool) => tool && typeof tool === 'object');
  });
}

/**
 * The history's searches as the model made them: each call a call of the search function, each
 * output that function's result (`describe` of what it loaded). A server search's items have no
 * call id: the call's item id stands in for it, and its output follows it.
 */
export function toolSearchHistory(functionName: string, describe: (tools: ToolDefinition[]) => string) {
  let openServerCall: string | null = null;
  const call = (callId: string, args: unknown): ResponseInputItem =>
    ({ type: 'function_call', call_id: callId, name: functionName, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) }) as ResponseInputItem;

  return (raw: ResponseInputItem): ResponseInputItem[] => {
    const item = raw as unknown as ToolSearchItem;
    if (item.type === 'tool_search_call') {
      const callId = item.call_id ?? item.id ?? newId('call');
      openServerCall = item.call_id ? null : callId;
      return [call(callId, item.arguments)];
    }
    const tools = Array.isArray(item.tools) ? (item.tools as ToolDefinition[]) : [];
    const result = (callId: string) => ({ type: 'function_call_output', call_id: callId, output: describe(tools) }) as ResponseInputItem;
    if (item.call_id) return [result(item.call_id)];
    const callId = openServerCall;
    openServerCall = null;
    if (callId) return [result(callId)];
    // An output without its call (the client left the call out): the model still sees a pair.
    const stand = item.id ?? newId('call');
    return [call(stand, {}), result(stand)];
  };
}
