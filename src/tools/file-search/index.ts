// file_search: searches Parley's own vector stores (src/vector-stores), so it works with every
// model and needs no setting. The server hands its VectorStores to the tool with
// `provideVectorStores(store, vectorStores)`; a declaration is checked before the response is
// created (its vector stores must exist: 404 otherwise).
import type { ResponseInputItem, StoredItem } from '../../protocol/types.js';
import type { Store } from '../../store/types.js';
import type { VectorStores } from '../../vector-stores/service.js';
import type { ServerToolKind, ToolServices } from '../types.js';
import { formatResults } from './format.js';
import { FILE_SEARCH_FUNCTION, FileSearchTool, parseDeclaration } from './tool.js';

const byStore = new WeakMap<Store, VectorStores>();
/** Every VectorStores open in this process: a stored call's output is looked up by its item id. */
const open = new Set<VectorStores>();

/** Makes `vectorStores` the file_search back-end of the server using `store`; returns the undo. */
export function provideVectorStores(store: Store, vectorStores: VectorStores): () => void {
  byStore.set(store, vectorStores);
  open.add(vectorStores);
  return () => {
    byStore.delete(store);
    open.delete(vectorStores);
  };
}

function vectorStoresOf(services: ToolServices): VectorStores {
  const vectorStores = byStore.get(services.store);
  if (!vectorStores) throw new Error('file_search: no vector store service is attached to this store');
  return vectorStores;
}

export const fileSearchKind: ServerToolKind = {
  toolTypes: ['file_search'],
  itemTypes: ['file_search_call'],

  unavailable(services: ToolServices) {
    return byStore.has(services.store) ? null : 'this server has no vector store service';
  },

  check(declaration, param, services) {
    const parsed = parseDeclaration(declaration, param);
    vectorStoresOf(services).checkSearchable(parsed.vectorStoreIds, `${param}.vector_store_ids`);
  },

  create(declaration, services) {
    return new FileSearchTool(parseDeclaration(declaration, 'tools'), vectorStoresOf(services));
  },

  toModelInput(item: StoredItem): ResponseInputItem[] {
    const call = item as unknown as { id: string; status?: string; queries?: string[]; results?: Array<{ file_id?: string; filename?: string; score?: number; text?: string }> | null };
    const queries = call.queries ?? [];
    let output: string | null = null;
    for (const vectorStores of open) output ??= vectorStores.callOutput(call.id);
    if (output === null && call.results) {
      output = formatResults(
        queries,
        call.results.map((r) => ({ file_id: r.file_id ?? '', filename: r.filename ?? '', score: r.score ?? 0, text: r.text ?? '' })),
      );
    }
    if (output === null) {
      output = call.status === 'completed' ? 'This search ran in an earlier turn; its results are not kept. Search again if you need them.' : `This search did not complete (${call.status ?? 'unknown'}).`;
    }
    return [
      { type: 'function_call', call_id: call.id, name: FILE_SEARCH_FUNCTION, arguments: JSON.stringify({ queries }) } as ResponseInputItem,
      { type: 'function_call_output', call_id: call.id, output } as ResponseInputItem,
    ];
  },
};
