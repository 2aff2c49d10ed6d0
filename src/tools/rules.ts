// Which tools a request may declare (README, "Tools"): client-side tools (function, custom,
// namespace) are run by the client and always accepted; an official built-in tool needs a back-end here (or a model
// served by an upstream that hosts built-in tools itself: a Responses upstream); any other type is
// refused by name. Cache-only web_search (`external_web_access: false`) never fetches anything,
// so with no search cache it is accepted and simply not offered to the model.
import { badRequest } from '../protocol/errors.js';
import { kindForToolType } from './server-tools.js';
import type { ToolServices } from './types.js';
import { compileGrammar, GrammarDefinitionError, isGrammarFormat } from './grammar/index.js';

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
  tool_search: 'tool_search is not supported by Parley',
};

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** `hostedBuiltIns`: the model's upstream runs the official built-in tools itself (a Responses upstream). */
export function checkTools(tools: readonly ToolDecl[], services: ToolServices, hostedBuiltIns = false): void {
  tools.forEach((tool, index) => checkTool(tool, `tools[${index}]`, services, hostedBuiltIns));
}

function checkTool(tool: ToolDecl, param: string, services: ToolServices, hostedBuiltIns = false): void {
  switch (tool.type) {
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
