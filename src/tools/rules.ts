// Which tools a request may declare. Client-side tools are run by the client; a built-in
// tool needs a back-end here, and a type outside the official API is refused by name.
import { badRequest } from '../protocol/errors.js';

const CLIENT_TOOLS = new Set(['function']);

/** Official built-in tool types, and what it would take to serve each. */
const BUILT_IN_TOOLS: Record<string, string> = {
  file_search: 'file_search is not available on this server yet',
  web_search: 'web_search is not available on this server yet',
  web_search_preview: 'web_search_preview is not available on this server yet',
  web_search_2025_08_26: 'web_search is not available on this server yet',
  web_search_preview_2025_03_11: 'web_search_preview is not available on this server yet',
  code_interpreter: 'code_interpreter is not available on this server yet',
  image_generation: 'image_generation is not available on this server yet',
  mcp: 'mcp tools are not available on this server yet',
  custom: 'custom tools are not available on this server yet',
  namespace: 'namespace tools are not available on this server yet',
  computer: 'computer use is not supported by Parley',
  computer_use_preview: 'computer use is not supported by Parley',
  computer_use: 'computer use is not supported by Parley',
  local_shell: 'local_shell is not supported by Parley',
  shell: 'shell is not supported by Parley',
  apply_patch: 'apply_patch is not supported by Parley',
  tool_search: 'tool_search is not supported by Parley',
};

export function checkTools(tools: readonly { type: string; [key: string]: unknown }[]): void {
  tools.forEach((tool, index) => {
    const param = `tools[${index}]`;
    if (CLIENT_TOOLS.has(tool.type)) {
      if (typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) {
        throw badRequest(
          `Invalid value for '${param}.name': a function name of 1 to 64 letters, digits, '_' or '-' is required.`,
          `${param}.name`,
          'invalid_value',
        );
      }
      return;
    }
    const reason = BUILT_IN_TOOLS[tool.type];
    if (reason) throw badRequest(`Tool type '${tool.type}' cannot be used: ${reason}.`, `${param}.type`, 'unsupported_tool');
    throw badRequest(`Unknown tool type '${tool.type}': it is not a tool of the Responses API.`, `${param}.type`, 'invalid_value');
  });
}
