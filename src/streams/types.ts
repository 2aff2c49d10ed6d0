// A response's events as an ordered log. The engine appends; HTTP handlers follow.
import type { ResponseObject } from '../protocol/types.js';

export interface LoggedEvent {
  seq: number;
  type: string;
  /** The complete SSE frame, serialised once when the event was born. */
  frame: string;
}

export interface Follower {
  /** Called for each event in order, never twice, never with a gap. */
  onEvent(event: LoggedEvent): void;
  /** Called once after the terminal event was delivered (or when the log is dropped). */
  onEnd(): void;
}

export interface EventLog {
  /** Opens the log of a new response. `retainMs`: how long it stays readable after it ends. */
  open(responseId: string, retainMs: number): void;
  append(responseId: string, event: LoggedEvent): void;
  /** Marks the log finished after its terminal event. */
  end(responseId: string): void;
  /**
   * Whether a log exists (running, or ended and still retained). Synchronous for a log this
   * process holds; a shared log (Redis) may have to ask, for a response another instance runs.
   */
  has(responseId: string): boolean | Promise<boolean>;
  /** Delivers every event with seq > after, then new ones as they come. Returns an unsubscribe. */
  follow(responseId: string, after: number, follower: Follower): () => void;
  /**
   * A shared log (Redis): resolves once every event appended so far can be read from any
   * instance. A background POST answers after it, so its id works everywhere at once.
   */
  published?(responseId: string): Promise<void>;
  /**
   * A shared log (Redis): the response as its events so far make it, for a response another
   * instance runs (whose stored snapshot is only written when it is queued and when it ends).
   * Null when there is no such log.
   */
  snapshot?(responseId: string): Promise<ResponseObject | null>;
  /** Releases what the log holds (connections); pending writes are flushed first. */
  close?(): Promise<void>;
}

/**
 * Cancel requests between instances (several Parley processes sharing one event log): the
 * instance that runs a response aborts it, as a local cancel does, and answers with the result.
 */
export interface CancelBus {
  /**
   * Serves cancel requests from every instance: `handler` cancels the run if it is here and
   * resolves with the response once it has ended and is stored, else with null.
   */
  serve(handler: (responseId: string) => Promise<ResponseObject | null>): void;
  /**
   * Asks the instance that runs `responseId` to cancel it. Resolves with the cancelled (or
   * otherwise ended) response, or null when no instance runs it.
   */
  request(responseId: string): Promise<ResponseObject | null>;
}
