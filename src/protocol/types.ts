// Wire types come from the official `openai` package so that Parley and its clients agree on
// every field. Only `import type` here: nothing from the SDK is loaded at run time.
import type {
  Response as SdkResponse,
  ResponseStreamEvent,
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
  ResponseStreamEvent,
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
