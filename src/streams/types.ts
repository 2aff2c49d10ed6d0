// A response's events as an ordered log. The engine appends; HTTP handlers follow.

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
  /** Whether a log exists (running, or ended and still retained). */
  has(responseId: string): boolean;
  /** Delivers every event with seq > after, then new ones as they come. Returns an unsubscribe. */
  follow(responseId: string, after: number, follower: Follower): () => void;
}
