// One command per flush for every event mirrored to Redis: the entries of a flush (any number of
// responses) are packed into one string argument and a Lua script does the XADDs and PEXPIREs.
// A client-side command per XADD costs ~15 µs of CPU per event in ioredis; one packed command
// costs about what shipping the bytes does (~3 µs per event).
//
// Packing, per entry: `<key index> <entry id> <expire ms> <type bytes> <body bytes>\n<type><body>`
// where an event's body is its SSE frame, and the end marker has no type and its retention as
// body. Lengths are in bytes (Lua strings are byte strings).
import type { Redis } from 'ioredis';

const SCRIPT = `
local s = ARGV[1]
local p, failed, first = 1, 0, nil
while p <= #s do
  local k, id, ttl, tl, bl, q = string.match(s, '^(%d+) (%d+%-%d+) (%d+) (%d+) (%d+)\\n()', p)
  if not k then return redis.error_reply('parley append: malformed batch at byte ' .. p) end
  tl = tonumber(tl)
  bl = tonumber(bl)
  local key = KEYS[tonumber(k)]
  local r
  if tl == 0 then
    r = redis.pcall('XADD', key, id, 'end', string.sub(s, q, q + bl - 1))
  else
    r = redis.pcall('XADD', key, id, 't', string.sub(s, q, q + tl - 1), 'f', string.sub(s, q + tl, q + tl + bl - 1))
  end
  -- An entry already there (a resend after a reconnect) is not a failure.
  if type(r) == 'table' and r.err and not string.find(r.err, 'equal or smaller', 1, true) then
    failed = failed + 1
    first = first or r.err
  end
  if ttl ~= '0' then redis.call('PEXPIRE', key, ttl) end
  p = q + tl + bl
end
return { failed, first or '' }
`;

export type AppendingRedis = Redis & {
  parleyAppend(numKeys: number, ...keysThenBatch: string[]): Promise<[failed: number, firstError: string]>;
};

/** Adds the append script to a connection (EVALSHA, loaded on first use). */
export function defineAppend(redis: Redis): AppendingRedis {
  redis.defineCommand('parleyAppend', { lua: SCRIPT });
  return redis as AppendingRedis;
}

/** The entries of one flush. */
export class AppendBatch {
  private packed = '';
  private readonly keys: string[] = [];
  private readonly keyIndex = new Map<string, number>();

  get empty(): boolean {
    return this.packed === '';
  }

  /** `frame`: the SSE frame, any text. */
  event(key: string, id: string, type: string, frame: string, expireMs: number): void {
    this.packed += `${this.index(key)} ${id} ${expireMs} ${Buffer.byteLength(type)} ${Buffer.byteLength(frame)}\n${type}${frame}`;
  }

  end(key: string, id: string, retainMs: number, expireMs: number): void {
    const body = String(retainMs);
    this.packed += `${this.index(key)} ${id} ${expireMs} 0 ${body.length}\n${body}`;
  }

  send(redis: AppendingRedis): Promise<[failed: number, firstError: string]> {
    return redis.parleyAppend(this.keys.length, ...this.keys, this.packed);
  }

  private index(key: string): number {
    let index = this.keyIndex.get(key);
    if (index === undefined) {
      this.keys.push(key);
      index = this.keys.length;
      this.keyIndex.set(key, index);
    }
    return index;
  }
}
