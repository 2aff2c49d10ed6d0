// The built-in tool families Parley can run. Each lives in its own folder and is listed here.
import { codeInterpreterKind } from './code-interpreter/index.js';
import { fileSearchKind } from './file-search/index.js';
import { imageGenerationKind } from './image-generation/index.js';
import { mcpKind } from './mcp/index.js';
import type { ServerToolKind } from './types.js';
import { webSearchKind } from './web-search/index.js';

export const SERVER_TOOL_KINDS: readonly ServerToolKind[] = [webSearchKind, imageGenerationKind, fileSearchKind, mcpKind, codeInterpreterKind];

export function kindForToolType(type: string): ServerToolKind | undefined {
  return SERVER_TOOL_KINDS.find((kind) => kind.toolTypes.includes(type));
}

export function kindForItemType(type: string): ServerToolKind | undefined {
  return SERVER_TOOL_KINDS.find((kind) => kind.itemTypes.includes(type));
}
