// The `tool_search` tool as declared, and the function the model is offered for it.
// `execution` defaults to "server" (Parley searches the deferred tools); with "client" the
// model's call is handed to the client, offered with the client's `description` and
// `parameters`, or the `{paths: string[]}` loader schema the OpenAI Agents SDK sends by default.
import { badRequest } from '../../protocol/errors.js';
import type { FunctionToolDecl } from '../client-tools.js';
import type { DeferredCatalog } from './catalog.js';

export type ToolSearchExecution = 'server' | 'client';

export interface ToolSearchDeclaration {
  type: 'tool_search';
  execution?: ToolSearchExecution;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
}

/** The name the model calls the search by, unless a declared function already has it. */
export const TOOL_SEARCH_NAME = 'tool_search';

const SERVER_DESCRIPTION =
  'Loads deferred tools so that you can call them: they are not offered to you until loaded. ' +
  'Give the paths of what you need (a tool, a namespace, or namespace.tool, as listed below), or a query ' +
  'of keywords to search the deferred tools by name and description. The tools found are offered from your next step on.';

const SERVER_PARAMETERS = {
  type: 'object',
  properties: {
    paths: { type: 'array', items: { type: 'string' }, description: 'Tools or namespaces to load, by the names listed in the description.' },
    query: { type: 'string', description: 'Keywords to search the deferred tools for, when you do not know their names.' },
  },
  additionalProperties: false,
};

const CLIENT_DESCRIPTION = 'Load tools by namespace or tool name before calling them.';

const CLIENT_PARAMETERS = {
  type: 'object',
  properties: { paths: { type: 'array', items: { type: 'string' } } },
  required: ['paths'],
  additionalProperties: false,
};

export function toolSearchDeclaration(tools: readonly { type: string }[]): ToolSearchDeclaration | undefined {
  return tools.find((tool) => tool.type === 'tool_search') as ToolSearchDeclaration | undefined;
}

export function executionOf(declaration: ToolSearchDeclaration): ToolSearchExecution {
  return declaration.execution ?? 'server';
}

/** The function offered to the model; the searchable deferred tools are listed in its description. */
export function searchFunction(declaration: ToolSearchDeclaration, name: string, catalog: DeferredCatalog): FunctionToolDecl {
  const server = executionOf(declaration) === 'server';
  const description = server ? SERVER_DESCRIPTION : (declaration.description ?? CLIENT_DESCRIPTION);
  const listing = catalog.listing();
  return {
    type: 'function',
    name,
    description: listing ? `${description}\n\nDeferred tools:\n${listing}` : description,
    parameters: server ? SERVER_PARAMETERS : (declaration.parameters ?? CLIENT_PARAMETERS),
    strict: false,
  };
}

/** Checks the declaration's own fields (the rules across tools are in rules.ts). */
export function checkToolSearchDeclaration(tool: Record<string, unknown>, param: string): void {
  if (tool.execution !== undefined && tool.execution !== 'server' && tool.execution !== 'client') {
    throw badRequest(`Invalid value for '${param}.execution': expected one of server, client.`, `${param}.execution`, 'invalid_value');
  }
  if (tool.description !== undefined && tool.description !== null && typeof tool.description !== 'string') {
    throw badRequest(`Invalid type for '${param}.description': expected a string.`, `${param}.description`, 'invalid_type');
  }
  const parameters = tool.parameters;
  if (parameters !== undefined && parameters !== null && (typeof parameters !== 'object' || Array.isArray(parameters))) {
    throw badRequest(`Invalid type for '${param}.parameters': expected a JSON schema object.`, `${param}.parameters`, 'invalid_type');
  }
}
