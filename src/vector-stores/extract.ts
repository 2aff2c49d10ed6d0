// Text extraction for ingestion: plain text, Markdown, CSV, JSON, source code, HTML
// (html-to-text), PDF (unpdf, a serverless build of Mozilla's pdf.js) and DOCX (mammoth). The
// file type is its extension, as with OpenAI; a file whose type is not supported, or that
// yields no text, is refused with the code a vector store file's `last_error` carries.
import { extname } from 'node:path';

export type ExtractionErrorCode = 'unsupported_file' | 'invalid_file';

export class ExtractionError extends Error {
  constructor(
    readonly code: ExtractionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const TEXT_EXTENSIONS = [
  // prose and data
  'txt', 'text', 'md', 'markdown', 'mdx', 'rst', 'adoc', 'org', 'tex', 'csv', 'tsv', 'json', 'jsonl', 'ndjson',
  'xml', 'yaml', 'yml', 'toml', 'ini', 'cfg', 'conf', 'log', 'srt', 'vtt',
  // source code
  'c', 'h', 'cc', 'cpp', 'cxx', 'hpp', 'hh', 'cs', 'go', 'java', 'kt', 'kts', 'scala', 'groovy', 'js', 'mjs', 'cjs',
  'jsx', 'ts', 'mts', 'cts', 'tsx', 'py', 'pyi', 'rb', 'php', 'pl', 'pm', 'sh', 'bash', 'zsh', 'fish', 'ps1', 'rs',
  'swift', 'm', 'mm', 'r', 'jl', 'lua', 'dart', 'ex', 'exs', 'erl', 'hs', 'ml', 'clj', 'sql', 'css', 'scss', 'sass',
  'less', 'vue', 'svelte', 'graphql', 'proto', 'tf', 'dockerfile', 'makefile', 'cmake', 'gradle', 'bat',
];

export const SUPPORTED_EXTENSIONS: readonly string[] = [...TEXT_EXTENSIONS, 'html', 'htm', 'xhtml', 'pdf', 'docx'];
const TEXT = new Set(TEXT_EXTENSIONS);

/** The file's type for extraction: its lower-case extension, or its name for `Makefile` and the like. */
export function fileType(filename: string): string {
  const ext = extname(filename).slice(1).toLowerCase();
  return ext || filename.toLowerCase();
}

export function isSupported(filename: string): boolean {
  return SUPPORTED_EXTENSIONS.includes(fileType(filename));
}

export function unsupported(filename: string): ExtractionError {
  const type = fileType(filename);
  return new ExtractionError(
    'unsupported_file',
    `Files of type '${type}' are not supported for file_search (file '${filename}'). Supported: text, Markdown, CSV, JSON, source code, HTML, PDF and DOCX files.`,
  );
}

/** The document's text; throws ExtractionError for an unsupported, unreadable or empty file. */
export async function extractText(bytes: Uint8Array, filename: string): Promise<string> {
  if (bytes.length === 0) throw new ExtractionError('invalid_file', `The file '${filename}' is empty.`);
  const type = fileType(filename);
  let text: string;
  if (TEXT.has(type)) text = decodeText(bytes, filename);
  else if (type === 'html' || type === 'htm' || type === 'xhtml') text = await htmlText(decodeText(bytes, filename));
  else if (type === 'pdf') text = await pdfText(bytes, filename);
  else if (type === 'docx') text = await docxText(bytes, filename);
  else throw unsupported(filename);
  text = text.replace(/\r\n?/g, '\n');
  if (!text.trim()) throw new ExtractionError('invalid_file', `No text could be extracted from '${filename}'.`);
  return text;
}

function decodeText(bytes: Uint8Array, filename: string): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  // A NUL byte does not occur in text: this is a binary file under a text file's name.
  if (bytes.subarray(0, 65536).includes(0)) {
    throw new ExtractionError('invalid_file', `The file '${filename}' is not a text file (it contains binary data).`);
  }
  return new TextDecoder('utf-8').decode(bytes); // strips a UTF-8 BOM; invalid bytes become U+FFFD
}

async function htmlText(html: string): Promise<string> {
  const { convert } = await import('html-to-text');
  const plainHeading = (selector: string) => ({ selector, options: { uppercase: false } });
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'nav', format: 'skip' },
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map(plainHeading),
      { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
    ],
  });
}

async function pdfText(bytes: Uint8Array, filename: string): Promise<string> {
  const { extractText: pdfExtract, getDocumentProxy } = await import('unpdf');
  try {
    // pdf.js takes ownership of the buffer it is given: hand it a copy.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      const { text } = await pdfExtract(pdf, { mergePages: false });
      return text.join('\n\n');
    } finally {
      await pdf.destroy();
    }
  } catch (error) {
    throw new ExtractionError('invalid_file', `The PDF '${filename}' could not be read: ${(error as Error).message}`);
  }
}

async function docxText(bytes: Uint8Array, filename: string): Promise<string> {
  const mammoth = (await import('mammoth')).default;
  try {
    const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    return value;
  } catch (error) {
    throw new ExtractionError('invalid_file', `The DOCX file '${filename}' could not be read: ${(error as Error).message}`);
  }
}
