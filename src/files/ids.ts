// Ids of the Files and Vector Stores APIs, shaped like OpenAI's: `file-` and 22 base62
// characters, `vs_` / `vsfb_` and 32 hex characters, `fs_` (file_search_call items) and 48.
import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(length: number): string {
  // 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export const newFileId = () => `file-${base62(22)}`;
export const newVectorStoreId = () => `vs_${hex(16)}`;
export const newFileBatchId = () => `vsfb_${hex(16)}`;
export const newFileSearchCallId = () => `fs_${hex(24)}`;
