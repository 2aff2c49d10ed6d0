// One declared file_search tool: the function the model is offered (`file_search` with
// `queries`), the file_search_call item each call becomes (in_progress → searching → completed,
// with `queries`, and `results` when the request includes `file_search_call.results`), the
// passages the model reads back, and the citation markers its answer may carry (→
// file_citation annotations).
import type { ResponseFileSearchToolCall } from 'openai/resources/responses/responses';
import { newFileSearchCallId } from '../../files/ids.js';
import { ApiError, badRequest } from '../../protocol/errors.js';
import { parseFilter, type Filter } from '../../vector-stores/filters.js';
import type { ToolHit, VectorStores } from '../../vector-stores/service.js';
import { pendingAnnotation, type Annotation, type CitationResolver, type PendingAnnotation } from '../citations.js';
import type { FunctionToolDecl } from '../client-tools.js';
import type { ServerTool, ServerToolCall, ServerToolContext } from '../types.js';
import { formatResults, MARKER_CLOSE, MARKER_OPEN } from './format.js';

export const FILE_SEARCH_FUNCTION = 'file_search';
export const RESULTS_INCLUDE = 'file_search_call.results';
const DEFAULT_MAX_RESULTS = 10;
const MAX_QUERIES = 8;

export interface FileSearchDeclaration {
  vectorStoreIds: string[];
  maxResults: number;
  filter: Filter | null;
  scoreThreshold?: number;
  weights?: { text: number; embedding: number };
}

type FileSearchItem = ResponseFileSearchToolCall;

/** Checks a declared file_search tool; `param` is where it sits (`tools[0]`). */
export function parseDeclaration(declaration: Record<string, unknown>, param: string): FileSearchDeclaration {
  const ids = declaration.vector_store_ids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id)) {
    throw badRequest(`Invalid value for '${param}.vector_store_ids': a file_search tool needs a non-empty array of vector store ids.`, `${param}.vector_store_ids`, 'invalid_value');
  }
  const max = declaration.max_num_results;
  if (max !== undefined && max !== null && (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 50)) {
    throw badRequest(`Invalid value for '${param}.max_num_results': expected an integer from 1 to 50.`, `${param}.max_num_results`, 'invalid_value');
  }
  const filter = declaration.filters === undefined || declaration.filters === null ? null : parseFilter(declaration.filters, `${param}.filters`);
  const ranking = (declaration.ranking_options ?? {}) as { score_threshold?: unknown; hybrid_search?: { embedding_weight?: unknown; text_weight?: unknown } | null };
  const threshold = ranking.score_threshold;
  if (threshold !== undefined && (typeof threshold !== 'number' || threshold < 0 || threshold > 1)) {
    throw badRequest(`Invalid value for '${param}.ranking_options.score_threshold': expected a number from 0 to 1.`, `${param}.ranking_options.score_threshold`, 'invalid_value');
  }
  const hybrid = ranking.hybrid_search;
  let weights: FileSearchDeclaration['weights'];
  if (hybrid) {
    const { embedding_weight: embedding, text_weight: text } = hybrid;
    if (typeof embedding !== 'number' || typeof text !== 'number' || embedding < 0 || text < 0) {
      throw badRequest(`Invalid value for '${param}.ranking_options.hybrid_search': expected non-negative embedding_weight and text_weight.`, `${param}.ranking_options.hybrid_search`, 'invalid_value');
    }
    weights = { text, embedding };
  }
  return { vectorStoreIds: [...new Set(ids as string[])], maxResults: (max as number | undefined) ?? DEFAULT_MAX_RESULTS, filter, scoreThreshold: threshold as number | undefined, weights };
}

const FUNCTION: FunctionToolDecl = {
  type: 'function',
  name: FILE_SEARCH_FUNCTION,
  description:
    'Search the files the user has provided (their vector stores) for passages relevant to the conversation. ' +
    'Give one or more short, self-contained search queries. Each passage returned starts with a citation marker such as ' +
    `${MARKER_OPEN}file-abc123${MARKER_CLOSE} and the file's name: when your answer uses a passage, write its marker right after the statement it supports.`,
  parameters: {
    type: 'object',
    properties: {
      queries: { type: 'array', items: { type: 'string' }, description: 'Search queries: keywords or short questions, each searched on its own.' },
    },
    required: ['queries'],
    additionalProperties: false,
  },
  strict: true,
};

export class FileSearchTool implements ServerTool {
  readonly functions = [FUNCTION];
  readonly citations: CitationResolver;
  /** Files this response's searches returned, by id, for citations. */
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly declaration: FileSearchDeclaration,
    private readonly vectorStores: VectorStores,
  ) {
    this.citations = fileCitations((name) => this.resolve(name), (fileId) => this.currentFilename(fileId));
  }

  begin(_name: string, callId: string, ctx: ServerToolContext): ServerToolCall {
    let args = '';
    return {
      delta: (d) => (args += d),
      end: () => {},
      run: () => this.run(args, callId, ctx),
    };
  }

  private async run(args: string, _callId: string, ctx: ServerToolContext): Promise<string> {
    const queries = parseQueries(args);
    const item: FileSearchItem = { id: newFileSearchCallId(), type: 'file_search_call', status: 'in_progress', queries: queries ?? [], results: null };
    const writer = ctx.writer.openToolItem(item);
    writer.progress('response.file_search_call.in_progress');
    if (!queries) {
      item.status = 'failed';
      writer.done();
      return 'file_search was called without queries: call it with {"queries": ["..."]}, one or more search queries.';
    }
    item.status = 'searching';
    writer.progress('response.file_search_call.searching');
    let hits: ToolHit[];
    const { declaration } = this;
    try {
      hits = await this.vectorStores.searchForTool(
        declaration.vectorStoreIds,
        queries,
        { maxResults: declaration.maxResults, filter: declaration.filter, scoreThreshold: declaration.scoreThreshold, weights: declaration.weights },
        ctx.signal,
      );
    } catch (error) {
      if (ctx.signal.aborted || !(error instanceof ApiError)) throw error;
      item.status = 'failed';
      writer.done();
      return `The search failed: ${error.message}`;
    }
    item.status = 'completed';
    if (ctx.include.includes(RESULTS_INCLUDE)) {
      item.results = hits.map((hit) => ({ file_id: hit.fileId, filename: hit.filename, score: hit.score, text: hit.text, attributes: hit.attributes ?? {} }));
    }
    writer.progress('response.file_search_call.completed');
    writer.done();
    for (const hit of hits) this.seen.set(hit.fileId, hit.filename);
    const output = formatResults(
      queries,
      hits.map((hit) => ({ file_id: hit.fileId, filename: hit.filename, score: hit.score, text: hit.text })),
    );
    this.vectorStores.saveCallOutput(item.id, output);
    return output;
  }

  /**
   * A marker's file: a file id this response found, or one attached to a declared store (cited
   * from an earlier turn); else a file name this response found, when only one file has it.
   */
  private resolve(name: string): { fileId: string; filename: string } | null {
    const seen = this.seen.get(name);
    if (seen !== undefined) return { fileId: name, filename: seen };
    if (/^file-[A-Za-z0-9]+$/.test(name) && this.declaration.vectorStoreIds.some((id) => this.vectorStores.repo.file(id, name))) {
      return { fileId: name, filename: this.vectorStores.filename(name) };
    }
    const byName = [...this.seen].filter(([, filename]) => filename === name);
    return byName.length === 1 ? { fileId: byName[0][0], filename: name } : null;
  }

  /**
   * A cited file's name as the Files store has it now (the citation is completed with it): it
   * may have been renamed or deleted since the search; a deleted file's citation is dropped.
   */
  private async currentFilename(fileId: string): Promise<string> {
    const filename = this.vectorStores.filename(fileId);
    if (filename === fileId) throw new Error(`file ${fileId} is no longer in the Files store`);
    return filename;
  }
}

/** `{"queries": [...]}` (or `{"query": "..."}`): the non-empty queries, at most 8; null if none. */
function parseQueries(args: string): string[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args || '{}');
  } catch {
    return null;
  }
  const value = parsed as { queries?: unknown; query?: unknown };
  const raw = Array.isArray(value.queries) ? value.queries : typeof value.queries === 'string' ? [value.queries] : typeof value.query === 'string' ? [value.query] : [];
  const queries = raw.filter((q): q is string => typeof q === 'string' && q.trim() !== '').map((q) => q.trim());
  return queries.length ? queries.slice(0, MAX_QUERIES) : null;
}

const MAX_MARKER = 200;

/**
 * 【file-id】 markers (also OpenAI's own 【4:0†name】 form: the part after † is looked up) become
 * file_citation annotations at the marker's place; the marker itself is removed from the text.
 */
export function fileCitations(
  lookup: (name: string) => { fileId: string; filename: string } | null,
  /** When given, the file's name is confirmed asynchronously (the annotation is pending until then). */
  confirm?: (fileId: string) => Promise<string>,
): CitationResolver {
  return {
    openers: MARKER_OPEN,
    match(text, final) {
      const end = text.indexOf(MARKER_CLOSE);
      if (end < 0) return !final && text.length < MAX_MARKER && !text.includes('\n') ? 'more' : null;
      if (end > MAX_MARKER) return null;
      const body = text.slice(MARKER_OPEN.length, end).trim();
      const names = body.includes('†') ? [body.slice(body.lastIndexOf('†') + 1).trim(), body] : [body];
      for (const name of names) {
        const file = name ? lookup(name) : null;
        if (!file) continue;
        return {
          length: end + MARKER_CLOSE.length,
          text: '',
          annotations: (start: number): Array<Annotation | PendingAnnotation> => [
            confirm
              ? pendingAnnotation({ type: 'file_citation', file_id: file.fileId, index: start }, async () => ({
                  type: 'file_citation',
                  file_id: file.fileId,
                  filename: await confirm(file.fileId),
                  index: start,
                }))
              : { type: 'file_citation', file_id: file.fileId, filename: file.filename, index: start },
          ],
        };
      }
      return null;
    },
  };
}
