import { randomBytes } from 'node:crypto';

// OpenAI ids are a prefix and 48 hex characters; clients sometimes check the prefix.
export type IdPrefix = 'resp' | 'msg' | 'rs' | 'fc' | 'call' | 'ctc' | 'conv' | 'ws' | 'ig' | 'mcp' | 'mcpl' | 'mcpr' | 'tsc' | 'tso';

let pool = Buffer.alloc(0);
let offset = 0;

function hex24(): string {
  if (offset + 24 > pool.length) {
    pool = randomBytes(24 * 256);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 24);
  offset += 24;
  return id;
}

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${hex24()}`;
}
