// Wire types come from the official `openai` package so that Parley and its clients agree on
// every field. Only `import type` here: nothing from the SDK is loaded at run time.
import type {
  Response as SdkResponse,
  ResponseStreamEvent as OfficialStreamEvent,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseOutputRefusal,
  ResponseReasoningItem,
  ResponseFunctionToolCall,
  ResponseCustomToolCall,
  ResponseInputItem,
  ResponseUsage,
  ResponseStatus,
  ResponseError,
  Tool,
} from 'openai/resources/responses/responses';

export type {
  OfficialStreamEvent,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseOutputRefusal,
  ResponseReasoningItem,
  ResponseFunctionToolCall,
  ResponseCustomToolCall,
  ResponseInputItem,
  ResponseUsage,
  ResponseStatus,
  ResponseError,
  Tool,
};

/**
 * Parley's one event outside the official set (DESIGN.md; spec/parley-events.json): a citation
 * marker was seen in the streamed text and its annotation is still being resolved. Sent only to
 * clients that opted in (`Parley-Stream-Events: annotation.queued`, PARLEY_STREAM_EVENTS). It is
 * followed by `response.output_text.annotation.added` with the same `annotation_index`, or the
 * annotation was dropped (see README, "Two-phase annotations").
 */
export interface ResponseOutputTextAnnotationQueuedEvent {
  type: 'response.output_text.annotation.queued';
  sequence_number: number;
  item_id: string;
  output_index: number;
  content_index: number;
  annotation_index: number;
  /** The annotation as far as it is known: at least `type` and its position fields. */
  annotation: { type: string; [field: string]: unknown };
}

/** Every event Parley can send: the official union plus its opt-in annotation.queued. */
export type ResponseStreamEvent = OfficialStreamEvent | ResponseOutputTextAnnotationQueuedEvent;

/** The Response object as it goes over the wire: the SDK adds `output_text` itself. */
export type ResponseObject = Omit<SdkResponse, 'output_text' | 'access_programs' | 'usage'> & {
  status: ResponseStatus;
  /** Absent until the model step reports it: the official schema does not allow null here. */
  usage?: ResponseUsage;
};

/** Every stream event without its sequence number: what the writer stamps and sends. */
export type UnnumberedEvent = ResponseStreamEvent extends infer E
  ? E extends { sequence_number: number }
    ? Omit<E, 'sequence_number'>
    : never
  : never;

export type EventType = ResponseStreamEvent['type'];

/** A stored input or output item: whatever the client sent or the model made, with an id. */
export type StoredItem = { id: string; type: string; [key: string]: unknown };
