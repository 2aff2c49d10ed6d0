// Client-side tools as the model sees them. Function tools pass through. The functions inside
// a `namespace` tool are offered under one flat name each (`crm__lookup`) that maps back to
// `{namespace, name}` on the call item. A `custom` tool (free-form text input) is offered as a
// function with one string parameter, `input`, for models that only call functions; its call
// becomes a `custom_tool_call` item. The history sent back to the model is translated the
// same way, so the model always sees the names and shapes it was offered.
//
// Tools declared with `defer_loading: true` are offered only once a tool search has loaded them
// (tool-search/): the tools of every tool_search_output in the context are offered, and the
// `tool_search` tool itself is offered as one more function.
import { createHash } from 'node:crypto';
import type { ResponseInputItem, StoredItem } from '../protocol/types.js';
import { kindForItemType } from './server-tools.js';
import type { CitationResolver } from './citations.js';
import type { ServerTool, ServerToolContext } from './types.js';
import { customToolGrammar, type CompiledGrammar } from './grammar/index.js';
import { DeferredCatalog, forEachCallable, isDeferred, type ToolDefinition } from './tool-search/catalog.js';
import { executionOf, searchFunction, TOOL_SEARCH_NAME, toolSearchDeclaration } from './tool-search/declaration.js';
import { loadedTools, toolSearchHistory } from './tool-search/items.js';
import { serverToolSearch } from './tool-search/server.js';

export interface FunctionToolDecl {
  type: 'function';
  name: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}

interface ToolDecl {
  type: string;
  name?: string;
  description?: string;
  tools?: ToolDecl[];
  format?: { type?: string; syntax?: string; definition?: string };
  [key: string]: unknown;
}

export type OfferedTool =
  | {
      kind: 'function' | 'custom';
      /** The name the client declared. */
      name: string;
      namespace?: string;
      /** A custom tool's `format` grammar, which its input must match. */
      grammar?: CompiledGrammar;
    }
  | { kind: 'server'; name: string; tool: ServerTool }
  /** The search function of a client-executed `tool_search`: its call goes to the client as a tool_search_call. */
  | { kind: 'tool_search'; name: string };

export interface ClientTools {
  /** The function tools offered to the model. */
  readonly functions: FunctionToolDecl[];
  /** What the client declared behind a function the model called. */
  fromModel(modelName: string): OfferedTool;
  /** The history as the model was offered it: flat names, custom calls as function calls. */
  toModelInput(input: ResponseInputItem[]): ResponseInputItem[];
  /** What the built-in tools' results can be cited by in answer text. */
  readonly citations: CitationResolver[];
  /** Prepares the built-in tools (ServerTool.prepare) and offers the functions they add; resolves with the input they add. */
  prepare(ctx: ServerToolContext): Promise<ResponseInputItem[]>;
}

const MAX_NAME = 64;
export const CUSTOM_INPUT_FIELD = 'input';

/**
 * `tools` as declared; `servers`, the built-in tools Parley runs for this request; `context`, the
 * items the model reads (the tools its tool_search_outputs loaded are offered).
 */
export function clientTools(tools: readonly ToolDecl[], servers: readonly ServerTool[] = [], context: readonly unknown[] = []): ClientTools {
  const functions: FunctionToolDecl[] = [];
  const byModelName = new Map<string, OfferedTool>();
  const modelNameOf = new Map<string, string>();
  const key = (name: string, namespace = '') => `${namespace}\u0000${name}`;

  const offer = (tool: ToolDecl, namespace?: string) => {
    const name = String(tool.name);
    const modelName = namespace ? flatName(namespace, name, byModelName) : name;
    const kind = tool.type === 'custom' ? 'custom' : 'function';
    const grammar = kind === 'custom' ? customToolGrammar(tool.format) : undefined;
    byModelName.set(modelName, { kind, name, ...(namespace && { namespace }), ...(grammar && { grammar }) });
    modelNameOf.set(key(name, namespace), modelName);
    functions.push(kind === 'custom' ? customAsFunction(tool, modelName) : { ...(tool as FunctionToolDecl), name: modelName });
  };

  const offerServer = (server: ServerTool) => {
    for (const fn of server.functions) {
      // Two declarations of one family (web_search and web_search_preview): the first one serves.
      if (byModelName.has(fn.name)) continue;
      byModelName.set(fn.name, { kind: 'server', name: fn.name, tool: server });
      functions.push(fn);
    }
  };
  for (const server of servers) offerServer(server);
  forEachCallable(tools as ToolDefinition[], (tool, namespace) => {
    if (!isDeferred(tool) && !isDeferred(namespace)) offer(tool as ToolDecl, namespace && String(namespace.name));
  });

  const modelName = (name: string, namespace?: string) => modelNameOf.get(key(name, namespace)) ?? (namespace ? `${namespace}__${name}` : name);

  // Tool search: loaded tools are offered as declared (a loaded definition's fields win).
  const catalog = new DeferredCatalog(tools as ToolDefinition[]);
  const load = (loaded: ToolDefinition[]) =>
    forEachCallable(loaded, (tool, ns) => {
      const namespace = ns && String(ns.name);
      if (typeof tool.name !== 'string') return;
      if (modelNameOf.has(key(tool.name, namespace)) || (!namespace && byModelName.has(tool.name))) return;
      offer({ ...catalog.declared(tool.name, namespace), ...tool } as ToolDecl, namespace);
    });
  const describe = (loaded: ToolDefinition[]) => describeLoaded(loaded, modelName);
  const search = toolSearchDeclaration(tools);
  const searchName = unusedName(TOOL_SEARCH_NAME, byModelName);
  if (search) {
    const fn = searchFunction(search, searchName, catalog);
    if (executionOf(search) === 'server') offerServer(serverToolSearch(fn, catalog, { load, describe }));
    else {
      byModelName.set(searchName, { kind: 'tool_search', name: searchName });
      functions.push(fn);
    }
  }
  load(loadedTools(context));

  return {
    functions,
    citations: servers.flatMap((server) => (server.citations ? [server.citations] : [])),
    async prepare(ctx) {
      const added: ResponseInputItem[] = [];
      for (const server of servers) {
        if (!server.prepare) continue;
        added.push(...(await server.prepare(ctx)));
        offerServer(server);
      }
      return added;
    },
    fromModel: (name) => byModelName.get(name) ?? { kind: 'function', name },
    toModelInput(input) {
      const searches = toolSearchHistory(searchName, describe);
      return input.flatMap((item) => {
        const call = item as { type?: string; namespace?: string; name?: string; call_id?: string; input?: string; output?: unknown; id?: string };
        switch (call.type) {
          case 'function_call': {
            if (!call.namespace) return item;
            const { namespace, ...rest } = call;
            return { ...rest, name: modelName(String(call.name), namespace) } as ResponseInputItem;
          }
          case 'custom_tool_call':
            return {
              type: 'function_call',
              id: call.id,
              call_id: call.call_id,
              name: modelName(String(call.name), call.namespace),
              arguments: JSON.stringify({ [CUSTOM_INPUT_FIELD]: call.input ?? '' }),
            } as ResponseInputItem;
          case 'custom_tool_call_output':
            return { type: 'function_call_output', call_id: call.call_id, output: call.output } as ResponseInputItem;
          case 'tool_search_call':
          case 'tool_search_output':
            return searches(item);
          default: {
            const kind = call.type ? kindForItemType(call.type) : undefined;
            return kind ? kind.toModelInput(item as unknown as StoredItem) : item;
          }
        }
      });
    },
  };
}

function customAsFunction(tool: ToolDecl, name: string): FunctionToolDecl {
  const format = tool.format;
  const grammar =
    format?.type === 'grammar' && format.definition
      ? `\nThe input must match this ${format.syntax ?? ''} grammar:\n${format.definition}`
      : '';
  return {
    type: 'function',
    name,
    description: `${tool.description ?? ''}${grammar}`.trim() || null,
    parameters: {
      type: 'object',
      properties: { [CUSTOM_INPUT_FIELD]: { type: 'string', description: 'The raw input of the tool, as free-form text.' } },
      required: [CUSTOM_INPUT_FIELD],
      additionalProperties: false,
    },
    strict: true,
  };
}

/** What the model reads as a search's result: the loaded tools by the names it calls them. */
function describeLoaded(loaded: ToolDefinition[], modelName: (name: string, namespace?: string) => string): string {
  const lines: string[] = [];
  forEachCallable(loaded, (tool, namespace) => {
    if (typeof tool.name !== 'string') return;
    lines.push(`- ${modelName(tool.name, namespace && String(namespace.name))}${tool.description ? `: ${tool.description}` : ''}`);
  });
  return lines.length ? `Loaded these tools; you can call them now:\n${lines.join('\n')}` : 'No tools were loaded: nothing matched the search.';
}

/** `name`, or `name_2`, `name_3`, … when a tool already has it. */
function unusedName(name: string, taken: Map<string, OfferedTool>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}_${n}`;
  return candidate;
}

/** `namespace__name`, kept within the 64 characters function names allow and never reused. */
function flatName(namespace: string, name: string, taken: Map<string, OfferedTool>): string {
  const plain = `${namespace}__${name}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (plain.length <= MAX_NAME && !taken.has(plain)) return plain;
  const hash = createHash('sha256').update(`${namespace}\u0000${name}`).digest('hex').slice(0, 8);
  return `${plain.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}
