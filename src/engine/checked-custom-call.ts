// A call of a custom tool whose input must match a grammar (`format.type: "grammar"`), made by a
// model that was offered the tool as a function with one string parameter.
//
// Its input is held, not streamed, until the call ends, so that the client never sees a call
// that is then taken back. A valid input is written out at once: the item, its deltas in one
// burst, custom_tool_call_input.done. An invalid one is left to the turn loop (turn.ts), which
// either shows the model its call and the error in another step (at most MAX_GRAMMAR_RETRIES
// times per response), or writes the call out as it is.
import type { ResponseInputItem } from '../protocol/types.js';
import type { CustomToolCallWriter } from '../protocol/writer.js';
import { CUSTOM_INPUT_FIELD } from '../tools/client-tools.js';
import type { CompiledGrammar, GrammarMismatch } from '../tools/grammar/index.js';
import { JsonStringFieldStream } from '../tools/json-string-field.js';

/** Extra model steps a response may spend on inputs that do not match their tool's grammar. */
export const MAX_GRAMMAR_RETRIES = 2;

export class CheckedCustomCall {
  private readonly field = new JsonStringFieldStream(CUSTOM_INPUT_FIELD);
  /** The decoded input, in the pieces it arrived in (replayed as the deltas). */
  private readonly pieces: string[] = [];
  mismatch: GrammarMismatch | null = null;

  constructor(
    private readonly open: () => CustomToolCallWriter,
    private readonly grammar: CompiledGrammar,
    /** The call as the model made it: its id and the function name it was offered. */
    readonly callId: string,
    readonly modelName: string,
    /** Where an invalid call goes, for the turn loop to decide. */
    private readonly invalid: CheckedCustomCall[],
  ) {}

  get input(): string {
    return this.pieces.join('');
  }

  delta(argumentsDelta: string): void {
    const piece = this.field.push(argumentsDelta);
    if (piece) this.pieces.push(piece);
  }

  done(): void {
    const rest = this.field.finish();
    if (rest) this.pieces.push(rest);
    this.mismatch = this.grammar.check(this.input);
    if (this.mismatch) this.invalid.push(this);
    else this.write();
  }

  /** Writes the call out: the item, every delta at once, done. */
  write(): void {
    const call = this.open();
    for (const piece of this.pieces) call.delta(piece);
    call.done();
  }

  /** What the model reads before it tries again: its call, and why the input was refused. */
  retryInput(): ResponseInputItem[] {
    const error =
      `The input does not match the tool's ${this.grammar.syntax} grammar: ${this.mismatch?.message ?? 'unknown error'}. ` +
      'Call the tool again with input that matches.';
    return [
      { type: 'function_call', call_id: this.callId, name: this.modelName, arguments: JSON.stringify({ [CUSTOM_INPUT_FIELD]: this.input }) } as ResponseInputItem,
      { type: 'function_call_output', call_id: this.callId, output: error } as ResponseInputItem,
    ];
  }
}
