// code_interpreter: Python in a sandboxed container (src/containers: Pyodide in a worker thread),
// needing no setting. The server hands its Containers to the tool with
// `provideContainers(store, containers)`; a declaration naming a container is checked before
// the response is created (404 for an unknown one).
import type { Containers } from '../../containers/containers.js';
import { badRequest } from '../../protocol/errors.js';
import type { ResponseInputItem, StoredItem } from '../../protocol/types.js';
import type { Store } from '../../store/types.js';
import type { ServerToolKind, ToolServices } from '../types.js';
import { CodeInterpreterTool, PYTHON_FUNCTION, type CodeInterpreterDeclaration } from './tool.js';

const byStore = new WeakMap<Store, Containers>();

/** Makes `containers` the code_interpreter back-end of the server using `store`; returns the undo. */
export function provideContainers(store: Store, containers: Containers): () => void {
  byStore.set(store, containers);
  return () => byStore.delete(store);
}

function containersOf(services: ToolServices): Containers {
  const containers = byStore.get(services.store);
  if (!containers) throw new Error('code_interpreter: no container service is attached to this store');
  return containers;
}

export function parseDeclaration(declaration: Record<string, unknown>, param: string): CodeInterpreterDeclaration {
  const container = declaration.container;
  if (typeof container === 'string' && container) return { containerId: container, fileIds: [] };
  const auto = container as { type?: unknown; file_ids?: unknown; memory_limit?: unknown } | null | undefined;
  if (!auto || typeof auto !== 'object' || auto.type !== 'auto') {
    throw badRequest(`Invalid value for '${param}.container': expected a container id or {"type": "auto"}.`, `${param}.container`, 'invalid_value');
  }
  const fileIds = auto.file_ids ?? [];
  if (!Array.isArray(fileIds) || !fileIds.every((id) => typeof id === 'string')) {
    throw badRequest(`Invalid value for '${param}.container.file_ids': expected an array of file ids.`, `${param}.container.file_ids`, 'invalid_value');
  }
  return { containerId: null, fileIds: fileIds as string[], memoryLimit: typeof auto.memory_limit === 'string' ? auto.memory_limit : undefined };
}

export const codeInterpreterKind: ServerToolKind = {
  toolTypes: ['code_interpreter'],
  itemTypes: ['code_interpreter_call'],

  unavailable(services) {
    return byStore.has(services.store) ? null : 'this server has no container service';
  },

  check(declaration, param, services) {
    const parsed = parseDeclaration(declaration, param);
    const containers = containersOf(services);
    if (parsed.containerId) containers.require(parsed.containerId);
    for (const id of parsed.fileIds) containers.checkFile(id, `${param}.container.file_ids`);
  },

  create(declaration, services, context) {
    return new CodeInterpreterTool(parseDeclaration(declaration, 'tools'), containersOf(services), context);
  },

  toModelInput(item: StoredItem): ResponseInputItem[] {
    const call = item as unknown as { id: string; status?: string; code?: string | null; outputs?: Array<{ type: string; logs?: string }> | null };
    const logs = call.outputs?.filter((o) => o.type === 'logs').map((o) => o.logs ?? '').join('') ?? '';
    const output =
      call.status === 'completed'
        ? logs
          ? `Output:\n${logs}`
          : 'This cell ran in an earlier turn (its output is not kept). The container keeps its variables and files while it lives.'
        : `This cell did not complete (${call.status ?? 'unknown'}).`;
    return [
      { type: 'function_call', call_id: call.id, name: PYTHON_FUNCTION, arguments: JSON.stringify({ code: call.code ?? '' }) } as ResponseInputItem,
      { type: 'function_call_output', call_id: call.id, output } as ResponseInputItem,
    ];
  },
};
