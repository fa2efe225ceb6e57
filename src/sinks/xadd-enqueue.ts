/**
 * How the `pipeline`, `lua` and `lua_packed` strategies of the Redis Streams sink (redis-streams.ts)
 * turn entries into commands on an ioredis pipeline: one XADD each, or script calls over chunks.
 */

import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis, RedisKey, Result } from 'ioredis';

const XADD_BATCH_COMMAND = 'fortistreamXaddBatch';
const XADD_PACKED_COMMAND = 'fortistreamXaddPacked';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** src/sinks/lua/xadd-batch-1.lua: KEYS[1] stream; ARGV max_len, n_events, then per entry n_strings, names/values. */
    fortistreamXaddBatch(
      key: RedisKey,
      maxLen: number,
      count: number,
      ...entries: (number | readonly string[])[]
    ): Result<number, Context>;
    /** src/sinks/lua/xadd-packed-1.lua: KEYS[1] stream; ARGV max_len, MessagePack blob of entries. */
    fortistreamXaddPacked(key: RedisKey, maxLen: number, packed: Buffer): Result<number, Context>;
  }
}

function loadLua(file: string): string {
  return readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
}

let luaSources: { batch: string; packed: string } | undefined;
const clientsWithCommands = new WeakSet<Redis>();

/** Registers the sink's scripts on `redis` once per client; ioredis handles EVALSHA/NOSCRIPT. */
export function defineSinkCommands(redis: Redis): void {
  if (clientsWithCommands.has(redis)) return;
  luaSources ??= { batch: loadLua('xadd-batch-1.lua'), packed: loadLua('xadd-packed-1.lua') };
  redis.defineCommand(XADD_BATCH_COMMAND, { lua: luaSources.batch, numberOfKeys: 1 });
  redis.defineCommand(XADD_PACKED_COMMAND, { lua: luaSources.packed, numberOfKeys: 1 });
  clientsWithCommands.add(redis);
}

/** One entry as stream field/value strings (events already are; dead letters are built). */
export type EntryFields = readonly string[];

/** Appends the commands writing `entries` to `key` onto `pipeline`; returns how many replies it adds. */
export type Enqueue = (pipeline: ChainableCommander, key: string, maxLen: number, entries: readonly EntryFields[]) => number;

export function enqueueXaddPerEntry(pipeline: ChainableCommander, key: string, maxLen: number, entries: readonly EntryFields[]): number {
  for (const fields of entries) pipeline.xadd(key, 'MAXLEN', '~', maxLen, '*', ...fields);
  return entries.length;
}

export function enqueueLuaChunks(maxStringsPerCall: number): Enqueue {
  return (pipeline, key, maxLen, entries) => {
    let calls = 0;
    let start = 0;
    while (start < entries.length) {
      // A chunk ends before it passes maxStringsPerCall strings (but holds at least one entry):
      // very large ARGV makes the script call slower per entry, and blocks Redis longer.
      const parts: (number | EntryFields)[] = [];
      let strings = 0;
      let end = start;
      while (end < entries.length) {
        const fields = entries[end] as EntryFields;
        if (end > start && strings + fields.length > maxStringsPerCall) break;
        parts.push(fields.length, fields);
        strings += fields.length + 1;
        end += 1;
      }
      pipeline.fortistreamXaddBatch(key, maxLen, end - start, ...parts);
      calls += 1;
      start = end;
    }
    return calls;
  };
}

export function enqueuePackedChunks(maxStringsPerCall: number): Enqueue {
  return (pipeline, key, maxLen, entries) => {
    let calls = 0;
    let start = 0;
    while (start < entries.length) {
      let strings = 0;
      let end = start;
      while (end < entries.length) {
        const length = (entries[end] as EntryFields).length;
        if (end > start && strings + length > maxStringsPerCall) break;
        strings += length;
        end += 1;
      }
      pipeline.fortistreamXaddPacked(key, maxLen, packEntries(entries, start, end));
      calls += 1;
      start = end;
    }
    return calls;
  };
}

/** MessagePack header of an array of `length` items. */
function msgpackArrayHeader(length: number): string {
  if (length < 16) return String.fromCharCode(0x90 | length);
  if (length < 0x10000) return String.fromCharCode(0xdc, length >>> 8, length & 0xff);
  return String.fromCharCode(0xdd, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

/** MessagePack header of a str of `bytes` UTF-8 bytes. */
function msgpackStrHeader(bytes: number): string {
  if (bytes < 32) return String.fromCharCode(0xa0 | bytes);
  if (bytes < 0x100) return String.fromCharCode(0xd9, bytes);
  if (bytes < 0x10000) return String.fromCharCode(0xda, bytes >>> 8, bytes & 0xff);
  return String.fromCharCode(0xdb, bytes >>> 24, (bytes >>> 16) & 0xff, (bytes >>> 8) & 0xff, bytes & 0xff);
}

/**
 * MessagePack array (of entries `start`…`end - 1`) of arrays of str. Built as one latin1 "byte string"
 * and encoded once: appending ASCII strings is far cheaper than one `Buffer.write` per string. Non-ASCII
 * values are appended as their UTF-8 bytes, one byte per char.
 */
function packEntries(entries: readonly EntryFields[], start: number, end: number): Buffer {
  let packed = msgpackArrayHeader(end - start);
  for (let i = start; i < end; i += 1) {
    const fields = entries[i] as EntryFields;
    packed += msgpackArrayHeader(fields.length);
    for (let j = 0; j < fields.length; j += 1) {
      const value = fields[j] as string;
      const bytes = Buffer.byteLength(value, 'utf8');
      packed += msgpackStrHeader(bytes);
      packed += bytes === value.length ? value : Buffer.from(value, 'utf8').toString('latin1');
    }
  }
  return Buffer.from(packed, 'latin1');
}
