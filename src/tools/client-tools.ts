// Client-side tools as the model sees them. Function tools pass through; the functions inside a
// `namespace` tool are offered under one flat name each (`crm__lookup`) that maps back to
// `{namespace, name}` on the call item, and is restored in the history sent to the model.
import { createHash } from 'node:crypto';
import type { ResponseInputItem } from '../protocol/types.js';

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
  tools?: ToolDecl[];
  [key: string]: unknown;
}

export interface QualifiedName {
  name: string;
  namespace?: string;
}

export interface ClientTools {
  /** The function tools offered to the model, namespaced ones under their flat names. */
  readonly functions: FunctionToolDecl[];
  /** The client's name (and namespace) of a function the model called. */
  fromModel(modelName: string): QualifiedName;
  /** The history with namespaced calls renamed to what the model was offered. */
  toModelInput(input: ResponseInputItem[]): ResponseInputItem[];
}

const MAX_NAME = 64;

export function clientTools(tools: readonly ToolDecl[]): ClientTools {
  const functions: FunctionToolDecl[] = [];
  const byModelName = new Map<string, QualifiedName>();
  const modelNameOf = new Map<string, string>();

  const offer = (tool: ToolDecl, namespace?: string) => {
    const name = String(tool.name);
    const modelName = namespace ? flatName(namespace, name, byModelName) : name;
    byModelName.set(modelName, namespace ? { name, namespace } : { name });
    if (namespace) modelNameOf.set(`${namespace}\u0000${name}`, modelName);
    functions.push({ ...(tool as unknown as FunctionToolDecl), name: modelName });
  };

  for (const tool of tools) {
    if (tool.type === 'function') offer(tool);
    if (tool.type === 'namespace') {
      for (const inner of tool.tools ?? []) if (inner.type === 'function') offer(inner, String(tool.name));
    }
  }

  return {
    functions,
    fromModel: (modelName) => byModelName.get(modelName) ?? { name: modelName },
    toModelInput(input) {
      if (modelNameOf.size === 0) return input;
      return input.map((item) => {
        const call = item as { type?: string; namespace?: string; name?: string };
        if (call.type !== 'function_call' || !call.namespace) return item;
        const modelName = modelNameOf.get(`${call.namespace}\u0000${call.name}`) ?? `${call.namespace}__${call.name}`;
        const { namespace: _namespace, ...rest } = call;
        return { ...rest, name: modelName } as ResponseInputItem;
      });
    },
  };
}

/** `namespace__name`, kept within the 64 characters function names allow and never reused. */
function flatName(namespace: string, name: string, taken: Map<string, QualifiedName>): string {
  const plain = `${namespace}__${name}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (plain.length <= MAX_NAME && !taken.has(plain)) return plain;
  const hash = createHash('sha256').update(`${namespace}\u0000${name}`).digest('hex').slice(0, 8);
  return `${plain.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}
