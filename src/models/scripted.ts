// The scripted model: deterministic playback of a scenario chosen by the request. It is the
// default when no upstream is configured, and a mock Responses server for client authors' CI.
//
// A scenario is chosen by `metadata.scenario`, or by a leading slash command in the last user
// message (`/reasoning`, `/tool get_weather {"city":"Paris"}`, `/slow 50 10` …). Without one,
// the model answers tool results, calls a declared function tool, fills a requested JSON
// schema, or echoes the user's words — in that order.
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../protocol/ids.js';
import type { ResponseInputItem } from '../protocol/types.js';
import { ModelError, type ModelBackend, type ModelInfo, type ModelRequest, type PartSink } from './types.js';
import { exampleFromSchema } from './json-example.js';
import { estimateInputTokens } from './estimate.js';

export const SCRIPTED_MODEL_ID = 'scripted';
export const SCRIPTED_OWNER = 'parley-scripted';

export const SCENARIOS = ['echo', 'text', 'reasoning', 'refusal', 'tool', 'tools', 'json', 'error', 'slow', 'stall'] as const;

interface Command {
  name: string;
  args: string;
}

interface FunctionToolDecl {
  name: string;
  parameters?: Record<string, unknown> | null;
}

/** Splits text into word-sized deltas that concatenate back to the text exactly. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

const LOREM =
  'Parley streams every event of the Responses protocol from one ordered log so that clients can resume, replay and trust each sequence number they see on the wire';

export function createScriptedBackend(): ModelBackend {
  return {
    async listModels(): Promise<ModelInfo[]> {
      return [{ id: SCRIPTED_MODEL_ID, owned_by: SCRIPTED_OWNER }];
    },
    stream: (request, sink) => new Script(request, sink).play(),
  };
}

class Script {
  private outputTokens = 0;
  private reasoningTokens = 0;
  private hasToolCalls = false;
  private readonly budget: number;

  constructor(
    private readonly request: ModelRequest,
    private readonly sink: PartSink,
  ) {
    this.budget = request.maxOutputTokens ?? Number.POSITIVE_INFINITY;
  }

  async play(): Promise<void> {
    const command = chooseCommand(this.request);
    const finished = await this.run(command);
    if (finished) this.finish(this.hasToolCalls ? 'tool-calls' : 'stop');
  }

  /** Plays a scenario; false when it already finished the step (length limit). */
  private async run({ name, args }: Command): Promise<boolean> {
    const numbers = args.split(/\s+/).map(Number).filter(Number.isFinite);
    switch (name) {
      case 'text':
        return this.text(words(numbers[0] ?? 20));
      case 'reasoning':
        return (
          (await this.reasoning(
            `The user wrote "${lastUserText(this.request.input)}". A short, direct answer fits.`,
            '**Answering directly**\n\nThe question is short, so a short answer fits.',
          )) &&
          this.text('Here is my answer after thinking it through.')
        );
      case 'refusal':
        return this.refusal("I'm sorry, but I can't help with that request.");
      case 'tool':
        return this.callTools(args, false);
      case 'tools':
        return this.callTools(args, true);
      case 'json':
        return this.text(JSON.stringify(this.jsonAnswer()));
      case 'error':
        await this.text('This response will fail', false);
        throw new ModelError('The scripted model failed on purpose (scenario "error").');
      case 'slow':
        return this.text(words(numbers[1] ?? 10), true, numbers[0] ?? 50);
      case 'stall':
        await this.text('Waiting', false);
        await sleep(2 ** 31 - 1, undefined, { signal: this.request.signal });
        return true;
      case 'echo':
        return this.text(`You said: ${lastUserText(this.request.input)}`);
      default:
        return this.auto();
    }
  }

  private async auto(): Promise<boolean> {
    const outputs = trailingToolOutputs(this.request.input);
    if (outputs.length) {
      return this.text(`Tool results: ${outputs.map((o) => `${o.name ?? o.call_id} returned ${o.output}`).join('; ')}.`);
    }
    if (functionTools(this.request).length && this.request.toolChoice !== 'none') return this.callTools('', false);
    if (this.request.textFormat.type !== 'text') return this.text(JSON.stringify(this.jsonAnswer()));
    return this.text(`You said: ${lastUserText(this.request.input)}`);
  }

  private jsonAnswer(): unknown {
    const format = this.request.textFormat;
    if (format.type === 'json_schema') return exampleFromSchema(format.schema);
    return { answer: lastUserText(this.request.input) };
  }

  private async text(text: string, end = true, delayMs = 0): Promise<boolean> {
    return this.streamPart('text', text, end, delayMs);
  }

  /** Raw reasoning, then — when the request asks for one — a summary, like OpenAI's reasoning models. */
  private async reasoning(text: string, summary: string): Promise<boolean> {
    const id = `reasoning-${newId('rs')}`;
    if (!(await this.streamPart('reasoning', text, false, 0, id))) return false;
    const wanted = this.request.reasoning as { summary?: string | null; generate_summary?: string | null } | null;
    if (wanted?.summary || wanted?.generate_summary) {
      for (const delta of tokenize(summary)) {
        this.outputTokens++;
        this.reasoningTokens++;
        this.sink({ type: 'reasoning-summary-delta', id, delta });
      }
      this.sink({ type: 'reasoning-summary-part-end', id });
    }
    this.sink({ type: 'reasoning-end', id });
    return true;
  }

  private refusal(text: string): Promise<boolean> {
    return this.streamPart('refusal', text, true, 0);
  }

  private async streamPart(kind: 'text' | 'reasoning' | 'refusal', text: string, end: boolean, delayMs: number, id = `${kind}-${newId('msg')}`) {
    this.sink({ type: `${kind}-start`, id });
    for (const delta of tokenize(text)) {
      if (delayMs) await sleep(delayMs, undefined, { signal: this.request.signal });
      if (this.outputTokens >= this.budget) {
        this.sink({ type: `${kind}-end`, id });
        this.finish('length');
        return false;
      }
      this.outputTokens++;
      if (kind === 'reasoning') this.reasoningTokens++;
      this.sink({ type: `${kind}-delta`, id, delta });
    }
    if (end) this.sink({ type: `${kind}-end`, id });
    return true;
  }

  private callTools(args: string, all: boolean): boolean {
    const tools = functionTools(this.request);
    const forced = forcedToolName(this.request.toolChoice);
    const [requested, ...json] = args.trim().split(/\s+(?=[{[])/);
    const wanted = requested ? tools.filter((t) => t.name === requested) : tools.filter((t) => !forced || t.name === forced);
    const chosen = all ? wanted : wanted.slice(0, 1);
    if (!chosen.length) {
      throw new ModelError(
        requested
          ? `The scripted model was asked to call '${requested}', but the request declares no such function tool.`
          : 'The scripted model was asked to call a tool, but the request declares no function tools.',
        'invalid_prompt',
      );
    }
    for (const tool of chosen) {
      const id = newId('fc');
      const argumentsJson = json.length && !all ? json.join(' ') : JSON.stringify(exampleFromSchema(tool.parameters ?? {}));
      this.sink({ type: 'tool-call-start', id, callId: newId('call'), name: tool.name });
      for (const delta of chunk(argumentsJson, 8)) this.sink({ type: 'tool-call-delta', id, delta });
      this.sink({ type: 'tool-call-end', id });
      this.outputTokens += Math.ceil(argumentsJson.length / 4);
    }
    this.hasToolCalls = true;
    return true;
  }

  private finish(reason: 'stop' | 'length' | 'tool-calls') {
    this.sink({
      type: 'finish',
      reason,
      usage: {
        inputTokens: estimateInputTokens(this.request),
        outputTokens: this.outputTokens,
        reasoningTokens: this.reasoningTokens,
      },
    });
  }
}

function chooseCommand(request: ModelRequest): Command {
  const fromMetadata = request.metadata?.scenario;
  // A slash command is played once: when tool outputs follow it (a built-in tool ran, or the
  // client answered the call), the model answers them instead.
  if (!fromMetadata && trailingToolOutputs(request.input).length) return { name: 'auto', args: '' };
  const source = fromMetadata ?? lastUserText(request.input).match(/^\s*\/(\S.*)$/s)?.[1];
  if (!source) return { name: 'auto', args: '' };
  const [, name, args = ''] = source.trim().match(/^(\S+)\s*(.*)$/s) ?? [];
  if (!(SCENARIOS as readonly string[]).includes(name)) {
    throw new ModelError(`Unknown scripted scenario '${name}'. Scenarios: ${SCENARIOS.join(', ')}.`, 'invalid_prompt');
  }
  return { name, args };
}

function words(count: number): string {
  const all = LOREM.split(' ');
  return Array.from({ length: Math.max(1, count) }, (_, i) => all[i % all.length]).join(' ');
}

function chunk(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function functionTools(request: ModelRequest): FunctionToolDecl[] {
  return request.tools.filter((t) => t.type === 'function') as unknown as FunctionToolDecl[];
}

function forcedToolName(toolChoice: unknown): string | undefined {
  if (toolChoice && typeof toolChoice === 'object' && 'name' in toolChoice) return String(toolChoice.name);
  return undefined;
}

/** The text of the last user message, whatever shape its content has. */
export function lastUserText(input: ResponseInputItem[]): string {
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i] as { role?: string; content?: unknown };
    if (item.role === 'user') return contentText(item.content);
  }
  return '';
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string }) => (typeof part.text === 'string' ? part.text : ''))
    .join('');
}

interface ToolOutput {
  call_id: string;
  name?: string;
  output: string;
}

/** The function outputs that end the input, with the names of the calls they answer. */
function trailingToolOutputs(input: ResponseInputItem[]): ToolOutput[] {
  const outputs: ToolOutput[] = [];
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i] as { type?: string; call_id?: string; output?: unknown };
    if (item.type !== 'function_call_output') break;
    const call = input.find((c) => (c as { type?: string; call_id?: string }).type === 'function_call' && (c as { call_id?: string }).call_id === item.call_id) as
      | { name?: string }
      | undefined;
    const output = typeof item.output === 'string' ? item.output : contentText(item.output);
    outputs.unshift({ call_id: String(item.call_id), name: call?.name, output });
  }
  return outputs;
}

