// Builds what the model sees: the previous_response_id chain, then this request's input with
// every item_reference resolved from storage. Also gives each input item the id it is stored under.
import { badRequest, notFound } from '../protocol/errors.js';
import { newId } from '../protocol/ids.js';
import type { ResponseInputItem, ResponseObject, StoredItem } from '../protocol/types.js';
import type { Store } from '../store/types.js';
import { isToolSearchItem, withToolSearchDefaults } from '../tools/tool-search/items.js';

type RawItem = { type?: string; role?: string; id?: string; content?: unknown; [key: string]: unknown };

const MESSAGE_ROLES = new Set(['user', 'assistant', 'system', 'developer']);

/** This request's input as stored items: messages get `type` and part-list content, all get ids. */
export async function normalizeInput(input: string | RawItem[] | undefined, store: Store): Promise<StoredItem[]> {
  if (input === undefined) return [];
  if (typeof input === 'string') return [message('user', input)];
  const items: StoredItem[] = [];
  for (const [index, raw] of input.entries()) {
    if (raw.type === 'item_reference') {
      if (typeof raw.id !== 'string') throw badRequest("Missing required parameter: 'input[" + index + "].id'.", `input[${index}].id`);
      const stored = await store.getItem(raw.id);
      if (!stored) throw notFound(`Item with id '${raw.id}' not found.`, `input[${index}].id`);
      items.push(stored);
      continue;
    }
    if (raw.type === undefined || raw.type === 'message') {
      if (!raw.role || !MESSAGE_ROLES.has(raw.role)) {
        throw badRequest(
          `Invalid value for 'input[${index}].role': expected one of user, assistant, system, developer.`,
          `input[${index}].role`,
          'invalid_value',
        );
      }
      if (typeof raw.content !== 'string' && !Array.isArray(raw.content)) {
        throw badRequest(`Invalid type for 'input[${index}].content': expected a string or an array of content parts.`, `input[${index}].content`, 'invalid_type');
      }
      const normalized = message(raw.role, raw.content, raw.id);
      items.push({ ...raw, ...normalized });
      continue;
    }
    const item = { ...raw, id: typeof raw.id === 'string' ? raw.id : newItemId(raw.type), type: raw.type };
    items.push((isToolSearchItem(item.type) ? withToolSearchDefaults(item as Parameters<typeof withToolSearchDefaults>[0]) : item) as StoredItem);
  }
  return items;
}

function message(role: string, content: unknown, id?: string): StoredItem {
  const parts =
    typeof content === 'string'
      ? [role === 'assistant' ? { type: 'output_text', text: content, annotations: [], logprobs: [] } : { type: 'input_text', text: content }]
      : (content as { type?: unknown; logprobs?: unknown }[]).map(withLogprobs);
  return { id: id ?? newId('msg'), type: 'message', role, content: parts, status: 'completed' };
}

/** `output_text` parts a client wrote get the (empty) `logprobs` the official item shape requires. */
function withLogprobs(part: { type?: unknown; logprobs?: unknown }) {
  return part?.type === 'output_text' && part.logprobs === undefined ? { ...part, logprobs: [] } : part;
}

function newItemId(type: string): string {
  if (type === 'function_call') return newId('fc');
  if (type === 'reasoning') return newId('rs');
  if (type === 'tool_search_call') return newId('tsc');
  if (type === 'tool_search_output') return newId('tso');
  return newId('msg');
}

/** Input and output of every response in the previous_response_id chain, oldest first. */
export async function loadChain(previousResponseId: string, store: Store): Promise<ResponseInputItem[]> {
  const turns: { input: StoredItem[]; output: ResponseObject['output'] }[] = [];
  const seen = new Set<string>();
  let id: string | null | undefined = previousResponseId;
  while (id && !seen.has(id)) {
    seen.add(id);
    const response: ResponseObject | null = await store.getResponse(id);
    if (!response) {
      if (id === previousResponseId) {
        throw notFound(`Previous response with id '${id}' not found.`, 'previous_response_id');
      }
      break;
    }
    turns.unshift({ input: await store.getInputItems(id), output: response.output });
    id = response.previous_response_id;
  }
  return turns.flatMap((t) => [...t.input, ...t.output]) as unknown as ResponseInputItem[];
}
