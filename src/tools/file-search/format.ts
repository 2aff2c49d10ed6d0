// What the model reads back from a file_search call, and the citation markers in it. Each
// excerpt is headed by its marker, 【file id】, then the file name; the function's description
// asks the model to cite an excerpt by writing its marker after the statement it supports.
export const MARKER_OPEN = '【';
export const MARKER_CLOSE = '】';

export const marker = (fileId: string) => `${MARKER_OPEN}${fileId}${MARKER_CLOSE}`;

export interface ModelHit {
  file_id: string;
  filename: string;
  score: number;
  text: string;
}

export function formatResults(queries: readonly string[], hits: readonly ModelHit[]): string {
  const searched = queries.map((q) => JSON.stringify(q)).join(', ');
  if (hits.length === 0) return `No passages in the searched files match ${searched}.`;
  const excerpts = hits.map((hit) => `${marker(hit.file_id)} ${hit.filename} (relevance ${hit.score.toFixed(2)}):\n${hit.text.trim()}`);
  return (
    `${hits.length} passage${hits.length === 1 ? '' : 's'} found for ${searched}. ` +
    'Cite a passage you use by copying the marker in front of it, exactly, right after the statement it supports.\n\n' +
    excerpts.join('\n\n---\n\n')
  );
}
