// Tool search that Parley runs (execution "server"): the model's call is answered at once from
// the request's deferred tools. It writes the tool_search_call and the tool_search_output, then
// the tools found are offered to the model from its next step on.
import type { FunctionToolDecl } from '../client-tools.js';
import { whenArgumentsComplete, type ServerTool } from '../types.js';
import type { DeferredCatalog, ToolDefinition } from './catalog.js';
import { parseArguments, writeToolSearchCall, writeToolSearchOutput } from './items.js';

export interface ToolLoader {
  /** Offers the tools to the model from now on. */
  load(tools: ToolDefinition[]): void;
  /** What the model reads as the search's result. */
  describe(tools: ToolDefinition[]): string;
}

export function serverToolSearch(fn: FunctionToolDecl, catalog: DeferredCatalog, loader: ToolLoader): ServerTool {
  return {
    functions: [fn],
    begin: (_name, _callId, ctx) =>
      whenArgumentsComplete(async (text) => {
        const args = parseArguments(text);
        const found = catalog.find(args);
        writeToolSearchCall(ctx.writer, 'server', null, args);
        writeToolSearchOutput(ctx.writer, 'server', null, found);
        loader.load(found);
        return loader.describe(found);
      }),
  };
}
