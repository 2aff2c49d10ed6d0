// One declared code_interpreter tool: the `python` function the model is offered (`{code}`),
// the code_interpreter_call item each call becomes (in_progress → code deltas while the model
// writes → interpreting → completed, or failed), what the model reads back (logs, errors, files
// written), and the `container_file_citation` annotations for links to those files
// (`[name](sandbox:/mnt/data/name)`, OpenAI's convention) in the answer.
import { randomBytes } from 'node:crypto';
import type { Container, Containers, ContainerFileObject } from '../../containers/containers.js';
import type { ToolItemWriter } from '../../protocol/writer.js';
import type { Annotation, CitationResolver } from '../citations.js';
import type { FunctionToolDecl } from '../client-tools.js';
import { JsonStringFieldStream } from '../json-string-field.js';
import type { ServerTool, ServerToolCall, ServerToolContext, ToolRequestContext } from '../types.js';

export const PYTHON_FUNCTION = 'python';
export const OUTPUTS_INCLUDE = 'code_interpreter_call.outputs';
const MAX_LOG_CHARS = 20_000;

export interface CodeInterpreterDeclaration {
  /** An explicit container id, or auto (a container made for this conversation). */
  containerId: string | null;
  fileIds: string[];
  memoryLimit?: string;
}

export type CodeInterpreterItem = {
  id: string;
  type: 'code_interpreter_call';
  status: 'in_progress' | 'interpreting' | 'completed' | 'incomplete' | 'failed';
  code: string | null;
  container_id: string;
  outputs: Array<{ type: 'logs'; logs: string } | { type: 'image'; url: string }> | null;
};

const FUNCTION: FunctionToolDecl = {
  type: 'function',
  name: PYTHON_FUNCTION,
  description:
    'Run Python 3 code in a stateful sandbox (like a Jupyter cell): variables and files persist between calls. ' +
    'Only the standard library is available; there is no network. Print what you want to see. ' +
    'The working directory is /mnt/data, which holds the user\'s files; save files there. ' +
    'To give the user a file, link it as [name](sandbox:/mnt/data/name).',
  parameters: {
    type: 'object',
    properties: { code: { type: 'string', description: 'The Python code to run.' } },
    required: ['code'],
    additionalProperties: false,
  },
  strict: true,
};

export class CodeInterpreterTool implements ServerTool {
  readonly functions = [FUNCTION];
  readonly citations: CitationResolver;
  private container: Container | null = null;
  private ready: Promise<void> = Promise.resolve();

  constructor(
    private readonly declaration: CodeInterpreterDeclaration,
    private readonly containers: Containers,
    private readonly context: ToolRequestContext | undefined,
  ) {
    this.citations = sandboxLinkCitations((path) => this.fileAt(path));
  }

  /** The container of this tool: the declared one, one an earlier call of the conversation used, or a new one. */
  private open(): Container {
    if (this.container) return this.container;
    const id = this.declaration.containerId ?? this.earlierContainer();
    const found = id ? this.containers.get(id) : undefined;
    if (found) return (this.container = found);
    const { container, ready } = this.containers.open({ name: 'code_interpreter (auto)', fileIds: this.declaration.fileIds, memoryLimit: this.declaration.memoryLimit });
    this.ready = ready;
    return (this.container = container);
  }

  private earlierContainer(): string | null {
    const input = (this.context?.input ?? []) as ReadonlyArray<{ type?: string; container_id?: unknown }>;
    for (let i = input.length - 1; i >= 0; i--) {
      const item = input[i];
      if (item?.type === 'code_interpreter_call' && typeof item.container_id === 'string' && this.containers.get(item.container_id)) return item.container_id;
    }
    return null;
  }

  private fileAt(path: string): ContainerFileObject | null {
    const file = this.container?.files.get(path);
    return file && this.container ? this.container.fileObject(file) : null;
  }

  begin(_name: string, _callId: string, ctx: ServerToolContext): ServerToolCall {
    const container = this.open();
    const item: CodeInterpreterItem = { id: `ci_${randomBytes(24).toString('hex')}`, type: 'code_interpreter_call', status: 'in_progress', code: '', container_id: container.id, outputs: null };
    const writer = ctx.writer.openToolItem(item);
    writer.progress('response.code_interpreter_call.in_progress');
    const field = new JsonStringFieldStream('code');
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      writer.codeDelta(field.finish());
      writer.codeDone();
    };
    return {
      delta: (d) => writer.codeDelta(field.push(d)),
      end,
      run: async () => {
        end();
        return this.run(container, item, writer, ctx);
      },
    };
  }

  private async run(container: Container, item: CodeInterpreterItem, writer: ToolItemWriter<CodeInterpreterItem>, ctx: ServerToolContext): Promise<string> {
    const code = item.code ?? '';
    if (!code.trim()) {
      item.status = 'failed';
      writer.done();
      return 'python was called without code: call it with {"code": "..."}.';
    }
    item.status = 'interpreting';
    writer.progress('response.code_interpreter_call.interpreting');
    await this.ready;
    const result = await container.run(code);
    const logs = truncate(result.output);
    const outputs: NonNullable<CodeInterpreterItem['outputs']> = [];
    if (logs) outputs.push({ type: 'logs', logs });
    for (const file of result.written) {
      if (/\.(png|jpe?g)$/i.test(file.path)) outputs.push({ type: 'image', url: `/v1/containers/${container.id}/files/${file.id}/content` });
    }
    if (ctx.include.includes(OUTPUTS_INCLUDE)) item.outputs = outputs;
    item.status = 'completed';
    writer.progress('response.code_interpreter_call.completed');
    writer.done();
    return describe(result.status, logs, result.written, result.restarted, container);
  }
}

function truncate(text: string): string {
  return text.length > MAX_LOG_CHARS ? `${text.slice(0, MAX_LOG_CHARS)}\n… (${text.length - MAX_LOG_CHARS} more characters)` : text;
}

function describe(status: string, logs: string, written: ContainerFileObject[], restarted: boolean, container: Container): string {
  const lines: string[] = [];
  if (restarted) lines.push('Note: the Python interpreter was restarted before this cell (an earlier cell hit a limit): earlier variables are gone; the files in /mnt/data were kept.');
  switch (status) {
    case 'timeout':
      lines.push(`Error: the cell did not finish within the time limit and was stopped. The interpreter was restarted: all variables are lost; files in /mnt/data saved before this cell were kept.`);
      break;
    case 'crashed':
      lines.push(`Error: the interpreter stopped (out of memory?) and was restarted: all variables are lost. ${logs}`);
      break;
    case 'memory':
      lines.push(`Error: the cell ran out of memory (MemoryError).\n${logs}`);
      break;
    case 'error':
      lines.push(`The cell raised an error:\n${logs}`);
      break;
    default:
      lines.push(logs ? `Output:\n${logs}` : 'The cell ran and printed nothing.');
  }
  if (written.length) lines.push(`Files written: ${written.map((f) => `[${f.path.slice(f.path.lastIndexOf('/') + 1)}](sandbox:${f.path})`).join(', ')}. Link them the same way to give them to the user.`);
  void container;
  return lines.join('\n');
}

const SANDBOX_LINK = /^\[([^\]\n]{0,400})\]\(sandbox:(\/mnt\/data\/[^)\s]{1,1024})\)/;

/** `[label](sandbox:/mnt/data/path)` of a file in the container → a container_file_citation over the link. */
export function sandboxLinkCitations(lookup: (path: string) => ContainerFileObject | null): CitationResolver {
  return {
    openers: '[',
    match(text, final) {
      const m = SANDBOX_LINK.exec(text);
      if (!m) {
        if (final || text.includes('\n') || text.length > 1500) return null;
        // Could this still become a sandbox link?
        const close = text.indexOf(']');
        if (close < 0) return 'more';
        const rest = text.slice(close + 1);
        return '(sandbox:/mnt/data/'.startsWith(rest) || (rest.startsWith('(sandbox:/mnt/data/') && !rest.includes(')')) ? 'more' : null;
      }
      const file = lookup(m[2]);
      if (!file) return null;
      const filename = m[2].slice(m[2].lastIndexOf('/') + 1);
      return {
        length: m[0].length,
        text: m[0],
        annotations: (start, end): Annotation[] => [
          { type: 'container_file_citation', container_id: file.container_id, file_id: file.id, filename, start_index: start, end_index: end } as Annotation,
        ],
      };
    },
  };
}
