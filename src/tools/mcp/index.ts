// mcp (`type: "mcp"`): tools of remote MCP servers over Streamable HTTP (HTTP+SSE as a fallback),
// every connection through the outbound guard. Always available: the server is named by the
// request. `connector_id` is refused with a 400 (no connectors here).
import type { Config } from '../../config.js';
import { parseAllowList, type AllowList } from '../../net/outbound.js';
import type { ResponseInputItem, StoredItem } from '../../protocol/types.js';
import type { ServerToolKind } from '../types.js';
import { parseDeclaration } from './declaration.js';
import { McpTool, modelName } from './tool.js';

const allowByConfig = new WeakMap<Config, AllowList>();
function allowList(config: Config): AllowList {
  let allow = allowByConfig.get(config);
  if (!allow) allowByConfig.set(config, (allow = parseAllowList(config.outboundAllow)));
  return allow;
}

export const mcpKind: ServerToolKind = {
  toolTypes: ['mcp'],
  itemTypes: ['mcp_call', 'mcp_list_tools', 'mcp_approval_request', 'mcp_approval_response'],

  unavailable: () => null,

  check(declaration, param) {
    parseDeclaration(declaration, param);
  },

  create(declaration, { config, logger }, context) {
    return new McpTool(parseDeclaration(declaration), { allow: allowList(config), timeoutMs: config.mcpTimeoutMs, logger }, context);
  },

  /**
   * A call reads as the function call the model made and its result. Listings, approval requests
   * and approval responses read as nothing: the tools are offered as functions, and an answered
   * request's call (or its denial) is given to the model when the answer arrives.
   */
  toModelInput(item: StoredItem): ResponseInputItem[] {
    if (item.type !== 'mcp_call') return [];
    const call = item as unknown as { id: string; server_label: string; name: string; arguments: string; output?: string | null; error?: unknown; status?: string };
    const error = call.error as { message?: string; content?: unknown } | null | undefined;
    const output =
      call.status === 'failed' || error
        ? `The tool ${call.name} of ${call.server_label} failed: ${error?.message ?? JSON.stringify(error?.content ?? null)}`
        : call.status === 'completed'
          ? (call.output ?? '')
          : `It did not complete (${String(call.status ?? 'unknown')}).`;
    return [
      { type: 'function_call', call_id: call.id, name: modelName(call.server_label, call.name), arguments: call.arguments || '{}' } as ResponseInputItem,
      { type: 'function_call_output', call_id: call.id, output } as ResponseInputItem,
    ];
  },
};
