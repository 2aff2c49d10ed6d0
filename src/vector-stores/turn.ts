// The write turn that the main thread and the ingestion workers share (ingest-workers.ts): two
// Int32 on a SharedArrayBuffer, so that the main thread can take a turn back, or wait for the
// end of one, synchronously, inside whatever is about to write.
export type TurnState = Int32Array;

const TURN = 0; // FREE, GRANTED (to a worker, not begun) or WRITING (a worker's transaction)
const WANTED = 1; // 1 while the main thread waits for the writing worker
const FREE = 0;
const GRANTED = 1;
const WRITING = 2;

export const Turn = {
  shared(): TurnState {
    return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  },

  /** Main thread: the next worker may write. */
  grant(state: TurnState): void {
    Atomics.store(state, TURN, GRANTED);
  },

  /**
   * Main thread, about to write: takes back a turn not begun, or waits (blocking, at most
   * `timeoutMs`) until the writing worker's transaction ends — it ends early when it sees this.
   */
  stepAside(state: TurnState, timeoutMs = 5000): void {
    if (Atomics.compareExchange(state, TURN, GRANTED, FREE) !== WRITING) return;
    Atomics.store(state, WANTED, 1);
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(state, TURN) === WRITING) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      Atomics.wait(state, TURN, WRITING, left);
    }
    Atomics.store(state, WANTED, 0);
  },

  /** Main thread: the writing worker died (its transaction rolled back with it). */
  reset(state: TurnState): void {
    Atomics.store(state, TURN, FREE);
    Atomics.notify(state, TURN);
  },

  /** Worker, granted a turn: begins writing; false if the main thread took the turn back. */
  begin(state: TurnState): boolean {
    return Atomics.compareExchange(state, TURN, GRANTED, WRITING) === GRANTED;
  },

  /** Worker, writing: whether the main thread is waiting for it. */
  wanted(state: TurnState): boolean {
    return Atomics.load(state, WANTED) === 1;
  },

  /** Worker, within its turn after end(): about to write again. */
  resume(state: TurnState): void {
    Atomics.store(state, TURN, WRITING);
  },

  /** Worker: its transaction is over (committed or rolled back). */
  end(state: TurnState): void {
    Atomics.store(state, TURN, FREE);
    Atomics.notify(state, TURN);
  },
};
