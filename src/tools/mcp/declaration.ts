// The `mcp` tool declaration: parsed once, checked before the response is created (400s name the
// parameter at fault).
import { badRequest } from '../../protocol/errors.js';
import type { McpEndpoint } from './connection.js';

export interface ToolFilter {
  toolNames?: string[];
  readOnly?: boolean;
}

export interface McpDeclaration {
  serverLabel: string;
  serverDescription: string | null;
  endpoint: McpEndpoint;
  /** null: every tool of the server. */
  allowedTools: ToolFilter | null;
  requireApproval: 'always' | 'never' | { always?: ToolFilter; never?: ToolFilter };
}

const LABEL = /^[a-zA-Z0-9_-]{1,64}$/;

/** Throws the 400 a malformed declaration gets; `param` is e.g. `tools[0]`. */
export function parseDeclaration(d: Record<string, unknown>, param = 'tools[?]'): McpDeclaration {
  const invalid = (field: string, why: string) => badRequest(`Invalid value for '${param}.${field}': ${why}`, `${param}.${field}`, 'invalid_value');
  if (d.connector_id !== undefined && d.connector_id !== null) {
    throw badRequest(
      `'${param}.connector_id' is not supported: Parley connects only to remote MCP servers given by server_url.`,
      `${param}.connector_id`,
      'unsupported_parameter',
    );
  }
  if (d.tunnel_id !== undefined && d.tunnel_id !== null) {
    throw badRequest(`'${param}.tunnel_id' is not supported: give the MCP server's server_url.`, `${param}.tunnel_id`, 'unsupported_parameter');
  }
  if (typeof d.server_label !== 'string' || !LABEL.test(d.server_label)) throw invalid('server_label', 'a label of 1 to 64 letters, digits, "_" or "-" is required.');
  if (typeof d.server_url !== 'string') throw badRequest(`Missing required parameter: '${param}.server_url'.`, `${param}.server_url`, 'missing_required_parameter');
  let url: URL;
  try {
    url = new URL(d.server_url);
  } catch {
    throw invalid('server_url', 'not a URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('server_url', 'an http or https URL is required.');

  const headers: Record<string, string> = {};
  if (d.headers !== undefined && d.headers !== null) {
    if (typeof d.headers !== 'object' || Array.isArray(d.headers)) throw invalid('headers', 'an object of header names and string values is expected.');
    for (const [name, value] of Object.entries(d.headers)) {
      if (typeof value !== 'string') throw invalid(`headers.${name}`, 'header values are strings.');
      headers[name] = value;
    }
  }
  if (d.authorization !== undefined && d.authorization !== null) {
    if (typeof d.authorization !== 'string') throw invalid('authorization', 'a string (an OAuth access token) is expected.');
    headers.authorization = `Bearer ${d.authorization}`;
  }
  if (d.server_description !== undefined && d.server_description !== null && typeof d.server_description !== 'string') {
    throw invalid('server_description', 'a string is expected.');
  }

  return {
    serverLabel: d.server_label,
    serverDescription: typeof d.server_description === 'string' ? d.server_description : null,
    endpoint: { url: url.href, headers },
    allowedTools: d.allowed_tools === undefined || d.allowed_tools === null ? null : filter(d.allowed_tools, 'allowed_tools', invalid),
    requireApproval: approval(d.require_approval, invalid),
  };
}

function filter(value: unknown, field: string, invalid: (field: string, why: string) => Error): ToolFilter {
  if (Array.isArray(value)) {
    if (!value.every((v) => typeof v === 'string')) throw invalid(field, 'tool names are strings.');
    return { toolNames: value as string[] };
  }
  if (!value || typeof value !== 'object') throw invalid(field, 'a list of tool names or {"tool_names": [...], "read_only": true|false} is expected.');
  const f = value as { tool_names?: unknown; read_only?: unknown };
  const out: ToolFilter = {};
  if (f.tool_names !== undefined) {
    if (!Array.isArray(f.tool_names) || !f.tool_names.every((v) => typeof v === 'string')) throw invalid(`${field}.tool_names`, 'a list of tool names is expected.');
    out.toolNames = f.tool_names as string[];
  }
  if (f.read_only !== undefined) {
    if (typeof f.read_only !== 'boolean') throw invalid(`${field}.read_only`, 'a boolean is expected.');
    out.readOnly = f.read_only;
  }
  return out;
}

function approval(value: unknown, invalid: (field: string, why: string) => Error): McpDeclaration['requireApproval'] {
  // OpenAI asks for approval of every call unless told otherwise.
  if (value === undefined || value === null || value === 'always') return 'always';
  if (value === 'never') return 'never';
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('require_approval', 'expected "always", "never" or {"always": {...}, "never": {...}}.');
  const v = value as { always?: unknown; never?: unknown };
  return {
    ...(v.always !== undefined && v.always !== null && { always: filter(v.always, 'require_approval.always', invalid) }),
    ...(v.never !== undefined && v.never !== null && { never: filter(v.never, 'require_approval.never', invalid) }),
  };
}
