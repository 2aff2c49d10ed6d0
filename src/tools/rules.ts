// Which tools a request may declare (README, "Tools"): client-side tools (function, custom,
// namespace) are run by the client and always accepted; an official built-in tool needs a back-end here (or a model
// served by an upstream that hosts built-in tools itself: a Responses upstream); any other type is
// refused by name. Cache-only web_search (`external_web_access: false`) never fetches anything,
// so with no search cache it is accepted and simply not offered to the model. `tool_search`
// (tool-search/) is always accepted; a tool with `defer_loading: true` needs one in the request.
import { badRequest } from '../protocol/errors.js';
import { kindForToolType } from './server-tools.js';
import type { ToolServices } from './types.js';
import { compileGrammar, GrammarDefinitionError, isGrammarFormat } from './grammar/index.js';
import { checkToolSearchDeclaration } from './tool-search/declaration.js';

interface ToolDecl {
  type: string;
  [key: string]: unknown;
}

/** Official built-in tool types, and why each cannot be used here. */
const BUILT_IN_TOOLS: Record<string, string> = {
  file_search: 'file_search is not available on this server yet',
  web_search: 'no web search back-end is configured',
  web_search_2025_08_26: 'no web search back-end is configured',
  web_search_preview: 'no web search back-end is configured',
  web_search_preview_2025_03_11: 'no web search back-end is configured',
  code_interpreter: 'this server has no container service',
  image_generation: 'image_generation is not available on this server yet',
  mcp: 'mcp tools are not available on this server yet',
  computer: 'computer use is not supported by Parley',
  computer_use: 'computer use is not supported by Parley',
  computer_use_preview: 'computer use is not supported by Parley',
  local_shell: 'local_shell is not supported by Parley',
  shell: 'shell is not supported by Parley',
  apply_patch: 'apply_patch is not supported by Parley',
};

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** `hostedBuiltIns`: the model's upstream runs the official built-in tools itself (a Responses upstream). */
export function checkTools(tools: readonly ToolDecl[], services: ToolServices, hostedBuiltIns = false): void {
  tools.forEach((tool, index) => checkTool(tool, `tools[${index}]`, services, hostedBuiltIns));
  if (!hostedBuiltIns) checkToolSearch(tools);
}

/**
 * The tools that tool_search_output items of the input load (Parley offers them to the model):
 * function, custom and namespace tools, checked like declared ones. A Responses upstream takes
 * whatever its own tool search can load.
 */
export function checkLoadedTools(input: unknown, services: ToolServices, hostedBuiltIns = false): void {
  if (!Array.isArray(input)) return;
  input.forEach((item: { type?: unknown; execution?: unknown; tools?: unknown }, index) => {
    if (item?.type !== 'tool_search_call' && item?.type !== 'tool_search_output') return;
    const param = `input[${index}]`;
    if (item.execution !== undefined && item.execution !== 'server' && item.execution !== 'client') {
      throw badRequest(`Invalid value for '${param}.execution': expected one of server, client.`, `${param}.execution`, 'invalid_value');
    }
    if (item.type !== 'tool_search_output') return;
    if (!Array.isArray(item.tools)) throw badRequest(`Invalid type for '${param}.tools': expected an array of tools.`, `${param}.tools`, 'invalid_type');
    if (hostedBuiltIns) return;
    (item.tools as ToolDecl[]).forEach((tool, i) => {
      const toolParam = `${param}.tools[${i}]`;
      if (tool?.type !== 'function' && tool?.type !== 'custom' && tool?.type !== 'namespace') {
        throw badRequest(
          `Invalid value for '${toolParam}.type': a tool_search_output can load function, custom and namespace tools on this server.`,
          `${toolParam}.type`,
          'unsupported_tool',
        );
      }
      checkTool(tool, toolParam, services);
    });
  });
}

/** One tool_search at most; deferred tools only with one (nothing else would ever load them). */
function checkToolSearch(tools: readonly ToolDecl[]): void {
  const searches = tools.flatMap((tool, index) => (tool.type === 'tool_search' ? [index] : []));
  if (searches.length > 1) {
    throw badRequest(`Invalid value for 'tools[${searches[1]}].type': only one tool_search tool may be declared.`, `tools[${searches[1]}].type`, 'invalid_value');
  }
  if (searches.length) return;
  const deferred = tools.flatMap((tool, index) => {
    if (tool.defer_loading === true) return [`tools[${index}].defer_loading`];
    const inner = tool.type === 'namespace' && Array.isArray(tool.tools) ? (tool.tools as ToolDecl[]).findIndex((t) => t?.defer_loading === true) : -1;
    return inner >= 0 ? [`tools[${index}].tools[${inner}].defer_loading`] : [];
  });
  if (deferred.length) {
    throw badRequest(
      `Invalid value for '${deferred[0]}': a deferred tool is loaded by tool search, so the request needs a tool_search tool.`,
      deferred[0],
      'invalid_value',
    );
  }
}

function checkTool(tool: ToolDecl, param: string, services: ToolServices, hostedBuiltIns = false): void {
  if (tool.defer_loading !== undefined && typeof tool.defer_loading !== 'boolean') {
    throw badRequest(`Invalid type for '${param}.defer_loading': expected a boolean.`, `${param}.defer_loading`, 'invalid_type');
  }
  switch (tool.type) {
    case 'tool_search':
      return checkToolSearchDeclaration(tool, param);
    case 'function':
      return checkName(tool, param);
    case 'custom':
      checkName(tool, param);
      // A Responses upstream checks grammars itself (it samples with them); here Parley does.
      return checkCustomFormat(tool.format, `${param}.format`, !hostedBuiltIns);
    case 'namespace':
      checkName(tool, param);
      if (!Array.isArray(tool.tools) || tool.tools.length === 0) {
        throw badRequest(`Invalid value for '${param}.tools': a namespace needs at least one tool.`, `${param}.tools`, 'invalid_value');
      }
      (tool.tools as ToolDecl[]).forEach((inner, i) => {
        const innerParam = `${param}.tools[${i}]`;
        if (inner?.type !== 'function' && inner?.type !== 'custom') {
          throw badRequest(`Invalid value for '${innerParam}.type': a namespace holds function and custom tools.`, `${innerParam}.type`, 'invalid_value');
        }
        checkTool(inner, innerParam, services, hostedBuiltIns);
      });
      return;
  }
  if (hostedBuiltIns && Object.hasOwn(BUILT_IN_TOOLS, tool.type)) return;
  if (tool.type === 'mcp' && tool.defer_loading === true) {
    throw badRequest(
      `Invalid value for '${param}.defer_loading': deferred mcp tools are not supported by Parley; their tools are offered once listed.`,
      `${param}.defer_loading`,
      'unsupported_tool',
    );
  }
  const kind = kindForToolType(tool.type);
  const unavailable = kind?.unavailable(services, tool);
  if (kind && !unavailable) return kind.check?.(tool, param, services);
  if ((tool.type === 'web_search' || tool.type === 'web_search_2025_08_26') && tool.external_web_access === false) return;
  const reason = unavailable ?? BUILT_IN_TOOLS[tool.type];
  if (reason) throw badRequest(`Tool type '${tool.type}' cannot be used: ${reason}.`, `${param}.type`, 'unsupported_tool');
  throw badRequest(`Unknown tool type '${tool.type}': it is not a tool of the Responses API.`, `${param}.type`, 'invalid_value');
}

function checkName(tool: ToolDecl, param: string): void {
  if (typeof tool.name !== 'string' || !NAME.test(tool.name)) {
    throw badRequest(
      `Invalid value for '${param}.name': a name of 1 to 64 letters, digits, '_' or '-' is required.`,
      `${param}.name`,
      'invalid_value',
    );
  }
}

function checkCustomFormat(format: unknown, param: string, compile: boolean): void {
  if (format === undefined || format === null) return;
  const f = format as { type?: unknown; syntax?: unknown; definition?: unknown };
  if (f.type === 'text') return;
  if (isGrammarFormat(f)) {
    if (!compile) return;
    try {
      compileGrammar(f);
    } catch (error) {
      if (!(error instanceof GrammarDefinitionError)) throw error;
      throw badRequest(`Invalid value for '${param}': the ${f.syntax} grammar cannot be used: ${error.message}`, param, 'invalid_value');
    }
    return;
  }
  throw badRequest(
    `Invalid value for '${param}': expected {"type": "text"} or {"type": "grammar", "syntax": "lark" | "regex", "definition": "..."}.`,
    param,
    'invalid_value',
  );
}
