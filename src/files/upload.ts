// Reads a multipart/form-data upload (POST /v1/files) straight from the Node request with
// busboy: the `file` part streams to a temporary file in the data directory, never into memory,
// and stops at the size limit with a 413. Other parts are short text fields.
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { ApiError, badRequest } from '../protocol/errors.js';

export interface ReceivedFile {
  path: string;
  filename: string;
  mimeType: string;
  bytes: number;
}

export interface ReceivedForm {
  fields: Map<string, string>;
  file: ReceivedFile | null;
}

export const fileTooLarge = (maxBytes: number) =>
  new ApiError(413, `The file is larger than the largest upload this server accepts (${maxBytes} bytes).`, 'invalid_request_error', 'file', 'file_too_large');

/** Headroom for the multipart framing and fields around the file itself. */
const FORM_OVERHEAD = 1024 * 1024;

export async function receiveForm(req: IncomingMessage, maxFileBytes: number, temporaryPath: () => string): Promise<ReceivedForm> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    req.resume();
    throw badRequest(`Expected a multipart/form-data body with a 'file' and a 'purpose' field, not '${type || 'no content type'}'.`, null, 'invalid_request');
  }
  if (Number(req.headers['content-length']) > maxFileBytes + FORM_OVERHEAD) {
    req.resume();
    throw fileTooLarge(maxFileBytes);
  }

  const fields = new Map<string, string>();
  let file: ReceivedFile | null = null;
  let writing: Promise<void> | null = null;
  let truncated = false;

  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { fileSize: maxFileBytes, files: 1, fields: 32, fieldSize: 64 * 1024 } });
  } catch (error) {
    req.resume();
    throw badRequest(`The multipart body could not be read: ${(error as Error).message}.`, null, 'invalid_request');
  }

  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('field', (name, value) => fields.set(name, value));
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || file) {
        stream.resume();
        return;
      }
      const received: ReceivedFile = { path: temporaryPath(), filename: info.filename || 'upload', mimeType: info.mimeType, bytes: 0 };
      file = received;
      stream.on('data', (chunk: Buffer) => (received.bytes += chunk.length));
      stream.on('limit', () => (truncated = true));
      writing = pipeline(stream, fs.createWriteStream(received.path)).then(() => syncFile(received.path));
    });
    parser.on('close', resolve);
    parser.on('error', (error: Error) => reject(badRequest(`The multipart body could not be read: ${error.message}.`, null, 'invalid_request')));
    req.on('error', reject);
  });
  req.pipe(parser);

  const discard = () => (file ? fs.promises.rm((file as ReceivedFile).path, { force: true }) : Promise.resolve());
  try {
    await parsed;
    await writing;
  } catch (error) {
    await discard();
    throw error;
  }
  if (truncated) {
    await discard();
    throw fileTooLarge(maxFileBytes);
  }
  return { fields, file };
}

async function syncFile(path: string): Promise<void> {
  const handle = await fs.promises.open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
