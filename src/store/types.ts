// Durable storage of responses, conversations and their items. One interface; SQLite by
// default, PostgreSQL when DATABASE_URL is set. Writes happen at a response's start and end,
// never per event.
import type { ResponseObject, StoredItem } from '../protocol/types.js';

export interface ListQuery {
  /** An item id: list items after it in the chosen order. */
  after?: string;
  /** An item id: list items before it in the chosen order. */
  before?: string;
  /** 1..100, default 20. */
  limit?: number;
  /** 'desc' (default, newest first) or 'asc'. */
  order?: 'asc' | 'desc';
}

export interface ListPage<T> {
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** A conversation as the API returns it (`ConversationResource`); its items are stored apart. */
export interface Conversation {
  id: string;
  object: 'conversation';
  created_at: number;
  metadata: Record<string, string>;
}

export interface Store {
  /**
   * Saves a new response with its input items, in order, and whatever output it has: a
   * background response as it is queued, any other once it has ended.
   */
  createResponse(response: ResponseObject, inputItems: StoredItem[]): Promise<void>;
  /** Replaces the stored snapshot with the final one and records its output items. */
  finishResponse(response: ResponseObject): Promise<void>;
  getResponse(id: string): Promise<ResponseObject | null>;
  /** Deletes a response and its items; false if there was none. */
  deleteResponse(id: string): Promise<boolean>;
  /** This response's own input items, in the order they were given. */
  getInputItems(responseId: string): Promise<StoredItem[]>;
  /** Paginated input items, like GET /v1/responses/{id}/input_items. */
  listInputItems(responseId: string, query: ListQuery): Promise<ListPage<StoredItem>>;
  /**
   * Any stored input or output item by its id (the newest if an id repeats), else a
   * conversation item with that id, for item_reference.
   */
  getItem(id: string): Promise<StoredItem | null>;

  /** Saves a new conversation with its first items, in order. */
  createConversation(conversation: Conversation, items: StoredItem[]): Promise<void>;
  getConversation(id: string): Promise<Conversation | null>;
  /** Replaces the metadata; null if there is no such conversation. */
  updateConversation(id: string, metadata: Record<string, string>): Promise<Conversation | null>;
  /** Deletes a conversation and its items; false if there was none. */
  deleteConversation(id: string): Promise<boolean>;
  /**
   * Appends items after the conversation's last one, all or none; false if there is no such
   * conversation. Rejects an item id the conversation already holds.
   */
  appendConversationItems(id: string, items: StoredItem[]): Promise<boolean>;
  /** Every item of the conversation, oldest first (what the model sees). */
  getConversationItems(id: string): Promise<StoredItem[]>;
  /** Paginated items, like GET /v1/conversations/{id}/items: the same contract as listInputItems. */
  listConversationItems(id: string, query: ListQuery): Promise<ListPage<StoredItem>>;
  getConversationItem(id: string, itemId: string): Promise<StoredItem | null>;
  /** Removes one item; false if the conversation does not hold it. */
  deleteConversationItem(id: string, itemId: string): Promise<boolean>;

  close(): Promise<void>;
}
