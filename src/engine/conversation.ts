// Conversations: a durable list of items that responses read and extend. With `conversation`
// on POST /v1/responses the model sees the conversation's items before this request's input,
// and a response that ends `completed` or `incomplete` appends its input and output items (a
// failed or cancelled one adds nothing). Like OpenAI, one response at a time per conversation.
import { ApiError, badRequest, notFound } from '../protocol/errors.js';
import { newId } from '../protocol/ids.js';
import type { ResponseInputItem, ResponseObject, StoredItem } from '../protocol/types.js';
import type { Conversation, Store } from '../store/types.js';
import { normalizeInput } from './context.js';

type RawItems = Parameters<typeof normalizeInput>[0];

export const conversationNotFound = (id: string, param: string | null = null) =>
  notFound(`Conversation with id '${id}' not found.`, param);

export const conversationItemNotFound = (id: string) => notFound(`Item with id '${id}' not found.`);

export function newConversation(metadata: Record<string, string> | null | undefined): Conversation {
  return { id: newId('conv'), object: 'conversation', created_at: Math.floor(Date.now() / 1000), metadata: metadata ?? {} };
}

/**
 * Items given to POST /v1/conversations or …/items, normalized like a response's input (ids,
 * message shape, item_reference), with errors naming `items[i]`. An id may appear once per
 * conversation: a repeat, within `raw` or of an item `conversationId` holds, is a 400.
 */
export async function normalizeItems(raw: RawItems, store: Store, conversationId?: string): Promise<StoredItem[]> {
  let items: StoredItem[];
  try {
    items = await normalizeInput(raw, store);
  } catch (error) {
    throw renameParam(error, 'items');
  }
  await rejectDuplicates(items, 'items', async (id) =>
    conversationId ? (await store.getConversationItem(conversationId, id)) !== null : false,
  );
  return items;
}

/** The `conversation` parameter of POST /v1/responses (an id or `{id}`) as an id; null when absent. */
export function conversationParam(value: unknown, previousResponseId: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (previousResponseId) {
    throw new ApiError(
      400,
      "Mutually exclusive parameters. Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
      'invalid_request_error',
      null,
      'mutually_exclusive_parameters',
    );
  }
  const id = typeof value === 'object' && !Array.isArray(value) ? (value as { id?: unknown }).id : value;
  if (typeof id !== 'string' || id === '') {
    throw badRequest("Invalid type for 'conversation': expected a conversation id or an object with an 'id'.", 'conversation', 'invalid_type');
  }
  return id;
}

/** A response's hold on its conversation, from its start until its items are added. */
export interface ConversationTurn {
  readonly id: string;
  /** The conversation's items as the response started, oldest first: the model's context. */
  readonly items: ResponseInputItem[];
  /** Appends the input and output if the response completed or is incomplete; always lets go. */
  end(response: ResponseObject): Promise<void>;
}

interface Holder {
  response: ResponseObject;
  released: Promise<void>;
}

/** Which response holds which conversation (this process). */
export class Conversations {
  private readonly holders = new Map<string, Holder>();

  constructor(private readonly store: Store) {}

  /**
   * Takes the conversation for `response` (sets its `conversation`) and loads the items the model
   * sees. 404 for an unknown conversation; 400 `conversation_locked` while another response runs
   * on it. One that has ended but is still adding its items is waited for, so a client that sends
   * the next turn as soon as it has read the last event sees the previous turn.
   */
  async begin(id: string, input: StoredItem[], response: ResponseObject): Promise<ConversationTurn> {
    for (let holder = this.holders.get(id); holder; holder = this.holders.get(id)) {
      if (holder.response.status === 'queued' || holder.response.status === 'in_progress') throw conversationLocked();
      await holder.released;
    }
    let release!: () => void;
    this.holders.set(id, { response, released: new Promise((resolve) => (release = resolve)) });
    const letGo = () => {
      this.holders.delete(id);
      release();
    };

    let items: StoredItem[];
    try {
      if (!(await this.store.getConversation(id))) throw conversationNotFound(id, 'conversation');
      items = await this.store.getConversationItems(id);
      const held = new Set(items.map((item) => item.id));
      await rejectDuplicates(input, 'input', async (itemId) => held.has(itemId));
    } catch (error) {
      letGo();
      throw error;
    }
    response.conversation = { id };
    return {
      id,
      items: items as unknown as ResponseInputItem[],
      end: async (final) => {
        try {
          if (final.status === 'completed' || final.status === 'incomplete') {
            const output = final.output as unknown as StoredItem[];
            await this.store.appendConversationItems(id, [...input, ...output]);
          }
        } finally {
          letGo();
        }
      },
    };
  }
}

const conversationLocked = () =>
  new ApiError(
    400,
    'Another process is currently operating on this conversation. Please retry in a few seconds.',
    'invalid_request_error',
    'conversation',
    'conversation_locked',
  );

/** 400 for an item id that repeats within `items` or that `held` says is already there. */
async function rejectDuplicates(items: StoredItem[], param: string, held: (id: string) => Promise<boolean>) {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id) || (await held(item.id))) {
      throw badRequest(`Duplicate item found with id ${item.id}. Remove duplicate items from your input and try again.`, param);
    }
    seen.add(item.id);
  }
}

/** normalizeInput names `input[i]…`; conversation endpoints take `items`. */
function renameParam(error: unknown, name: string): unknown {
  if (!(error instanceof ApiError) || !error.param?.startsWith('input')) return error;
  return new ApiError(
    error.status,
    error.message.replaceAll("'input[", `'${name}[`),
    error.type,
    name + error.param.slice('input'.length),
    error.code,
  );
}
