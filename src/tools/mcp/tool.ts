// One declared `mcp` tool: the server's tools (listed, or reused from an mcp_list_tools item of
// the previous_response_id chain) offered to the model as `<label>__<tool>` functions; each call
// an mcp_call item — or, when approval is required, an mcp_approval_request item that ends the
// response until the client answers it with an mcp_approval_response.
import { createHash } from 'node:crypto';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../log.js';
import type { AllowList } from '../../net/outbound.js';
import { newId } from '../../protocol/ids.js';
import type { ResponseInputItem } from '../../protocol/types.js';
import type { ToolItemWriter } from '../../protocol/writer.js';
import type { FunctionToolDecl } from '../client-tools.js';
import type { ServerTool, ServerToolCall, ServerToolContext, ToolRequestContext } from '../types.js';
import { outboundCause, withMcpClient } from './connection.js';
import type { McpDeclaration, ToolFilter } from './declaration.js';

export interface McpDeps {
  allow: AllowList;
  timeoutMs: number;
  logger: Logger;
}

export interface ListedTool {
  name: string;
  description?: string | null;
  input_schema: Record<string, unknown>;
  annotations?: Record<string, unknown> | null;
}

type McpError_ = { type: 'mcp_protocol_error'; code: number; message: string } | { type: 'mcp_tool_execution_error'; content: unknown } | { type: 'http_error'; code: number; message: string };

type McpCallItem = {
  id: string;
  type: 'mcp_call';
  server_label: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete' | 'calling' | 'failed';
  output?: string | null;
  error?: McpError_ | null;
  approval_request_id?: string | null;
};
type ListItem = { id: string; type: 'mcp_list_tools'; server_label: string; tools: ListedTool[]; error?: string | null };
type ApprovalRequestItem = { id: string; type: 'mcp_approval_request'; server_label: string; name: string; arguments: string };

const MAX_NAME = 64;
/** Text of a tool result the model reads at most. */
const MAX_OUTPUT_CHARS = 100_000;

/** The function name a server's tool is offered under: `<label>__<tool>`, at most 64 characters. */
export function modelName(label: string, tool: string): string {
  const plain = `${label}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (plain.length <= MAX_NAME) return plain;
  const hash = createHash('sha256').update(`${label}\u0000${tool}`).digest('hex').slice(0, 8);
  return `${plain.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}

type Raw = { type?: string; id?: string; server_label?: string; [key: string]: unknown };

export class McpTool implements ServerTool {
  readonly functions: FunctionToolDecl[] = [];
  /** Offered function name → the server's tool. */
  private readonly byModelName = new Map<string, ListedTool>();
  private readonly reused: ListedTool[] | null;
  /** Approval requests of this server that the client answered and that have not run yet. */
  private readonly answered: Array<{ request: ApprovalRequestItem; approve: boolean; reason: string | null }> = [];

  constructor(
    private readonly decl: McpDeclaration,
    private readonly deps: McpDeps,
    context?: ToolRequestContext,
  ) {
    const items = (context?.input ?? []) as unknown as Raw[];
    const label = decl.serverLabel;
    // The latest successful listing of this server in the chain is used again.
    const listed = items.filter((i) => i.type === 'mcp_list_tools' && i.server_label === label && !i.error).at(-1);
    this.reused = listed ? (listed.tools as ListedTool[]) : null;
    if (this.reused) this.offer(this.reused);

    const requests = new Map(items.filter((i) => i.type === 'mcp_approval_request' && i.server_label === label).map((i) => [i.id, i as unknown as ApprovalRequestItem]));
    const ran = new Set(items.filter((i) => i.type === 'mcp_call' && i.approval_request_id).map((i) => i.approval_request_id));
    const seen = new Set<string>();
    for (const item of items) {
      if (item.type !== 'mcp_approval_response') continue;
      const id = String(item.approval_request_id);
      const request = requests.get(id);
      if (!request || ran.has(id) || seen.has(id)) continue;
      seen.add(id);
      this.answered.push({ request, approve: item.approve === true, reason: typeof item.reason === 'string' ? item.reason : null });
    }
  }

  async prepare(ctx: ServerToolContext): Promise<ResponseInputItem[]> {
    if (!this.reused) this.offer(await this.list(ctx));
    const input: ResponseInputItem[] = [];
    for (const { request, approve, reason } of this.answered) {
      const name = modelName(this.decl.serverLabel, request.name);
      if (approve) {
        const item: McpCallItem = {
          id: newId('mcp'),
          type: 'mcp_call',
          server_label: this.decl.serverLabel,
          name: request.name,
          arguments: request.arguments,
          status: 'in_progress',
          approval_request_id: request.id,
        };
        const writer = ctx.writer.openToolItem(item);
        writer.progress('response.mcp_call.in_progress');
        // Approved, but only a tool this declaration still allows (and the server still lists) runs.
        const output = this.byModelName.get(name)?.name === request.name
          ? await this.call(item, writer, ctx)
          : this.fail(item, writer, { type: 'mcp_protocol_error', code: -32602, message: `${request.name} is not one of the tools of ${this.decl.serverLabel} available here` });
        input.push(...callInput(item.id, name, item.arguments, output));
      } else {
        const output = `The user denied this call (approval request ${request.id}); it did not run.${reason ? ` Reason: ${reason}` : ''}`;
        input.push(...callInput(request.id, name, request.arguments, output));
      }
    }
    return input;
  }

  begin(name: string, _callId: string, ctx: ServerToolContext): ServerToolCall {
    const tool = this.byModelName.get(name);
    const toolName = tool?.name ?? name;
    if (tool && this.needsApproval(tool)) {
      let args = '';
      return {
        delta: (d) => void (args += d),
        end: () => {
          const item: ApprovalRequestItem = { id: newId('mcpr'), type: 'mcp_approval_request', server_label: this.decl.serverLabel, name: toolName, arguments: args };
          ctx.writer.openToolItem(item).done();
        },
        run: async () => "This call needs the user's approval; the response ends to wait for it.",
      };
    }
    const item: McpCallItem = { id: newId('mcp'), type: 'mcp_call', server_label: this.decl.serverLabel, name: toolName, arguments: '', status: 'in_progress' };
    const writer = ctx.writer.openToolItem(item);
    writer.progress('response.mcp_call.in_progress');
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      writer.mcpArgumentsDone();
    };
    return {
      delta: (d) => writer.mcpArgumentsDelta(d),
      end,
      run: async () => {
        end();
        if (!tool) return this.fail(item, writer, { type: 'mcp_protocol_error', code: -32602, message: `${toolName} is not one of the allowed tools of ${this.decl.serverLabel}` });
        return this.call(item, writer, ctx);
      },
    };
  }

  private offer(tools: ListedTool[]): void {
    for (const tool of tools) {
      if (!allowed(tool, this.decl.allowedTools)) continue;
      const name = modelName(this.decl.serverLabel, tool.name);
      if (this.byModelName.has(name)) continue;
      this.byModelName.set(name, tool);
      const about = [tool.description, this.decl.serverDescription ? `(Tool of the MCP server "${this.decl.serverLabel}": ${this.decl.serverDescription})` : ''];
      this.functions.push({
        type: 'function',
        name,
        description: about.filter(Boolean).join(' ') || null,
        parameters: tool.input_schema && typeof tool.input_schema === 'object' ? tool.input_schema : { type: 'object', properties: {} },
        strict: false,
      });
    }
  }

  /** The mcp_list_tools item: in_progress → completed with the allowed tools, or failed with the reason. */
  private async list(ctx: ServerToolContext): Promise<ListedTool[]> {
    const item: ListItem = { id: newId('mcpl'), type: 'mcp_list_tools', server_label: this.decl.serverLabel, tools: [] };
    const writer = ctx.writer.openToolItem(item);
    writer.progress('response.mcp_list_tools.in_progress');
    try {
      const tools = await withMcpClient(this.decl.endpoint, this.connectOptions(ctx), async (client) => {
        const all: ListedTool[] = [];
        let cursor: string | undefined;
        do {
          const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.deps.timeoutMs, signal: ctx.signal });
          for (const t of page.tools) {
            all.push({ name: t.name, description: t.description ?? null, input_schema: t.inputSchema as Record<string, unknown>, annotations: (t.annotations as Record<string, unknown> | undefined) ?? null });
          }
          cursor = page.nextCursor;
        } while (cursor && all.length < 1000);
        return all;
      });
      item.tools = tools.filter((t) => allowed(t, this.decl.allowedTools));
      writer.progress('response.mcp_list_tools.completed');
      writer.done();
      return item.tools;
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      item.error = `Could not list the tools of ${this.decl.serverLabel}: ${this.reason(error)}`;
      writer.progress('response.mcp_list_tools.failed');
      writer.done();
      return [];
    }
  }

  /** Runs one call on the server: the item ends completed with `output` or failed with `error`; resolves with what the model reads. */
  private async call(item: McpCallItem, writer: ToolItemWriter<McpCallItem>, ctx: ServerToolContext): Promise<string> {
    let args: Record<string, unknown>;
    try {
      const parsed = JSON.parse(item.arguments || '{}') as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      args = parsed as Record<string, unknown>;
    } catch {
      return this.fail(item, writer, { type: 'mcp_protocol_error', code: -32602, message: 'The arguments are not a JSON object.' });
    }
    try {
      const result = await withMcpClient(this.decl.endpoint, this.connectOptions(ctx), (client) =>
        client.callTool({ name: item.name, arguments: args }, undefined, { timeout: this.deps.timeoutMs, signal: ctx.signal }),
      );
      const text = resultText(result as { content?: unknown; structuredContent?: unknown; toolResult?: unknown });
      if (result.isError) return this.fail(item, writer, { type: 'mcp_tool_execution_error', content: result.content ?? [] }, text);
      item.output = text;
      item.error = null;
      item.status = 'completed';
      writer.progress('response.mcp_call.completed');
      writer.done();
      return clip(text);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const code = error instanceof McpError ? error.code : -32000;
      return this.fail(item, writer, { type: 'mcp_protocol_error', code, message: this.reason(error) });
    }
  }

  private fail(item: McpCallItem, writer: ToolItemWriter<McpCallItem>, error: McpError_, text?: string): string {
    item.status = 'failed';
    item.output = null;
    item.error = error;
    writer.progress('response.mcp_call.failed');
    writer.done();
    const message = text ?? ('message' in error ? error.message : '');
    return clip(`The tool ${item.name} of ${item.server_label} failed: ${message}`);
  }

  private needsApproval(tool: ListedTool): boolean {
    const rule = this.decl.requireApproval;
    if (rule === 'always' || rule === 'never') return rule === 'always';
    if (rule.never && matches(tool, rule.never)) return false;
    if (rule.always && matches(tool, rule.always)) return true;
    // A tool that neither filter names needs approval, as with OpenAI.
    return true;
  }

  private connectOptions(ctx: ServerToolContext) {
    return { allow: this.deps.allow, timeoutMs: this.deps.timeoutMs, signal: ctx.signal };
  }

  private reason(error: unknown): string {
    const outbound = outboundCause(error);
    if (outbound) return outbound.message;
    if (error instanceof McpError) return error.message;
    if (error instanceof Error && /fetch failed|ECONNREFUSED|ENOTFOUND|Streamable HTTP error|SSE error|Non-200/i.test(error.message)) return error.message;
    this.deps.logger.warn({ err: error, server: this.decl.serverLabel }, 'mcp request failed');
    return error instanceof Error ? error.message : 'an unexpected error (see the server log)';
  }
}

function callInput(callId: string, name: string, args: string, output: string): ResponseInputItem[] {
  return [
    { type: 'function_call', call_id: callId, name, arguments: args || '{}' } as ResponseInputItem,
    { type: 'function_call_output', call_id: callId, output } as ResponseInputItem,
  ];
}

/** The text of a tool result: its text parts, other parts described, or the structured content. */
function resultText(result: { content?: unknown; structuredContent?: unknown; toolResult?: unknown }): string {
  const parts = Array.isArray(result.content) ? (result.content as Array<{ type?: string; text?: string; mimeType?: string; resource?: { uri?: string; text?: string } }>) : [];
  const texts = parts.map((p) => {
    if (p.type === 'text') return p.text ?? '';
    if (p.type === 'resource') return p.resource?.text ?? `[resource ${p.resource?.uri ?? ''}]`;
    if (p.type === 'resource_link') return `[resource ${(p as { uri?: string }).uri ?? ''}]`;
    return `[${p.type ?? 'content'}${p.mimeType ? ` ${p.mimeType}` : ''}]`;
  });
  if (texts.length) return texts.join('\n');
  if (result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  if (result.toolResult !== undefined) return JSON.stringify(result.toolResult);
  return '';
}

function allowed(tool: ListedTool, filter: ToolFilter | null): boolean {
  return filter === null || matches(tool, filter);
}

function matches(tool: ListedTool, filter: ToolFilter): boolean {
  if (filter.toolNames && !filter.toolNames.includes(tool.name)) return false;
  if (filter.readOnly !== undefined && (tool.annotations?.readOnlyHint === true) !== filter.readOnly) return false;
  return true;
}

const clip = (text: string) => (text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}… (${text.length - MAX_OUTPUT_CHARS} more characters)` : text);
