// The hot path of every stream: the SSE frame of a delta event. A part's deltas differ only in
// their sequence number and text, so the rest of the frame is built once per part; each delta
// then costs five string pieces instead of a fresh event object and a dozen concatenations.
import { SSE_FRAME_END, sseFrameHead } from './sse.js';
import type { ResponseStreamEvent } from './types.js';

export type DeltaEvent = Extract<
  ResponseStreamEvent,
  {
    type:
      | 'response.output_text.delta'
      | 'response.refusal.delta'
      | 'response.reasoning_text.delta'
      | 'response.function_call_arguments.delta'
      | 'response.custom_tool_call_input.delta';
  }
>;

/** What a part's deltas share: everything but `sequence_number` and `delta` (and `logprobs`, always empty here). */
export type DeltaPart = SharedFields<DeltaEvent>;
type SharedFields<E> = E extends unknown ? Omit<E, 'sequence_number' | 'delta' | 'logprobs'> & { logprobs?: true } : never;

export class DeltaFrames {
  readonly type: DeltaEvent['type'];
  private readonly head: string;
  private readonly middle: string;
  private readonly tail: string;

  constructor(part: DeltaPart) {
    this.type = part.type;
    // sseFrame(type, JSON.stringify(event)), split around the two fields that change. Only the
    // delta needs escaping: the item id is one Parley made, the rest are numbers or fixed strings.
    this.head = `${sseFrameHead(part.type)}{"type":"${part.type}","sequence_number":`;
    const contentIndex = 'content_index' in part ? `,"content_index":${part.content_index}` : '';
    this.middle = `,"item_id":"${part.item_id}","output_index":${part.output_index}${contentIndex},"delta":`;
    this.tail = (part.logprobs ? ',"logprobs":[]}' : '}') + SSE_FRAME_END;
  }

  frame(sequenceNumber: number, delta: string): string {
    return this.head + sequenceNumber + this.middle + JSON.stringify(delta) + this.tail;
  }
}
