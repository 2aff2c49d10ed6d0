// The deferred tools of a request (`defer_loading: true`): what tool search can load. A unit is
// one function or custom tool, top-level or inside a namespace (deferred itself, or a member of a
// namespace marked deferred as a whole, as OpenAI's guide allows). The model is shown what is
// searchable up front as OpenAI shows it: a deferred tool's name and description, a namespace's
// name and description (not its members). A search names paths (a tool, a namespace, or
// `namespace.tool`) or keywords, scored with BM25 over names and descriptions.
import { Bm25, terms } from './bm25.js';

export interface ToolDefinition {
  type: string;
  name?: string;
  description?: string | null;
  tools?: ToolDefinition[];
  defer_loading?: unknown;
  [key: string]: unknown;
}

interface Unit {
  tool: ToolDefinition;
  namespace?: ToolDefinition;
}

/** Tools a keyword search loads at most. */
export const MAX_SEARCH_RESULTS = 5;
/** Characters of a description shown in the list of searchable tools. */
const LISTED_DESCRIPTION = 200;

export const isDeferred = (tool: ToolDefinition | undefined) => tool?.defer_loading === true;

/** Visits each function and custom tool of a tool list: top-level ones, then namespace members with their namespace. */
export function forEachCallable(tools: readonly ToolDefinition[], visit: (tool: ToolDefinition, namespace?: ToolDefinition) => void): void {
  for (const tool of tools) {
    if (tool.type === 'namespace') {
      for (const inner of tool.tools ?? []) if (inner.type === 'function' || inner.type === 'custom') visit(inner, tool);
    } else if (tool.type === 'function' || tool.type === 'custom') visit(tool);
  }
}

export class DeferredCatalog {
  private readonly units: Unit[] = [];
  private readonly index: Bm25<Unit>;

  constructor(tools: readonly ToolDefinition[]) {
    forEachCallable(tools, (tool, namespace) => {
      if (isDeferred(tool) || isDeferred(namespace)) this.units.push({ tool, namespace });
    });
    this.index = new Bm25(this.units.map((unit) => ({ item: unit, text: unitText(unit) })));
  }

  get isEmpty(): boolean {
    return this.units.length === 0;
  }

  /** The declared deferred tool `name` (in `namespace`), if any. */
  declared(name: string, namespace?: string): ToolDefinition | undefined {
    return this.units.find((unit) => unit.tool.name === name && unit.namespace?.name === namespace)?.tool;
  }

  /** One line per searchable thing: each deferred top-level tool, each namespace with deferred tools. */
  listing(): string {
    const lines: string[] = [];
    const namespaces = new Set<ToolDefinition>();
    for (const unit of this.units) {
      if (!unit.namespace) lines.push(`- ${unit.tool.name}${brief(unit.tool.description)}`);
      else if (!namespaces.has(unit.namespace)) {
        namespaces.add(unit.namespace);
        lines.push(`- ${unit.namespace.name} (namespace)${brief(unit.namespace.description)}`);
      }
    }
    return lines.join('\n');
  }

  /**
   * The tool definitions a search loads, as tool_search_output lists them: top-level tools as
   * declared, namespace members inside their namespace. `args.paths` are resolved by name (one
   * that names nothing is searched for as keywords); `args.query` is searched for.
   */
  find(args: unknown): ToolDefinition[] {
    const { paths, query } = searchArguments(args);
    const found = new Set<Unit>();
    const keywords = query ? [query] : [];
    for (const path of paths) {
      const units = this.resolve(path);
      if (units.length) units.forEach((unit) => found.add(unit));
      else keywords.push(path);
    }
    if (keywords.length) this.index.search(keywords.join(' '), MAX_SEARCH_RESULTS).forEach((unit) => found.add(unit));
    return definitions([...found]);
  }

  private resolve(path: string): Unit[] {
    const exact = this.units.filter((unit) => !unit.namespace && unit.tool.name === path);
    if (exact.length) return exact;
    const namespace = this.units.filter((unit) => unit.namespace?.name === path);
    if (namespace.length) return namespace;
    return this.units.filter((unit) => unit.namespace && (path === `${unit.namespace.name}.${unit.tool.name}` || path === `${unit.namespace.name}__${unit.tool.name}`));
  }
}

function searchArguments(args: unknown): { paths: string[]; query: string } {
  const a = (args && typeof args === 'object' ? args : {}) as { paths?: unknown; query?: unknown };
  const paths = Array.isArray(a.paths) ? a.paths.filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => p.trim()) : [];
  return { paths, query: typeof a.query === 'string' ? a.query.trim() : '' };
}

/** The unit's words; its own name counts twice, as names say the most about a tool. */
function unitText({ tool, namespace }: Unit): string[] {
  const name = terms(String(tool.name ?? ''));
  const parameters = (tool.parameters as { properties?: Record<string, unknown> } | null | undefined)?.properties;
  return [
    ...name,
    ...name,
    ...terms(tool.description ?? ''),
    ...terms(Object.keys(parameters ?? {}).join(' ')),
    ...(namespace ? [...terms(String(namespace.name ?? '')), ...terms(namespace.description ?? '')] : []),
  ];
}

/** Units as tool definitions: top-level ones as declared, members grouped under their namespace. */
function definitions(units: Unit[]): ToolDefinition[] {
  const result: ToolDefinition[] = [];
  const byNamespace = new Map<ToolDefinition, ToolDefinition>();
  for (const unit of units) {
    if (!unit.namespace) {
      result.push(unit.tool);
      continue;
    }
    let entry = byNamespace.get(unit.namespace);
    if (!entry) {
      entry = { type: 'namespace', name: unit.namespace.name, description: unit.namespace.description ?? '', tools: [] };
      byNamespace.set(unit.namespace, entry);
      result.push(entry);
    }
    entry.tools!.push(unit.tool);
  }
  return result;
}

function brief(description: string | null | undefined): string {
  const text = (description ?? '').replace(/\s+/g, ' ').trim();
  if (!text) return '';
  return `: ${text.length > LISTED_DESCRIPTION ? `${text.slice(0, LISTED_DESCRIPTION - 1)}…` : text}`;
}
