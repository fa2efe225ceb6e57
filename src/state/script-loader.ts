import { readFileSync } from 'node:fs';
import type { Cluster, Redis, RedisKey, RedisValue, Result } from 'ioredis';

/** A client the state layer works with: one Redis, or a Redis Cluster (the scripts are slot-safe). */
export type StateRedis = Redis | Cluster;

/**
 * The state scripts, by ioredis command name. The file name ends in the number of KEYS
 * (BullMQ's `name-<numKeys>.lua`), which is where `numberOfKeys` comes from.
 */
export const STATE_SCRIPTS = {
  fortistreamSessionOpen: 'session-open-2',
  fortistreamSessionRefresh: 'session-refresh-2',
  fortistreamSessionClose: 'session-close-2',
  // A batch's opens and closes in one call (same slot for every identity key: Cluster-safe).
  fortistreamSessionApply: 'session-apply-2',
  fortistreamSessionRevoke: 'session-revoke-2',
  fortistreamSessionSweep: 'session-sweep-2',
  fortistreamCounterAdd: 'counter-add-2',
  // Variable number of keys (numkeys is the first argument at call time): single Redis only.
  fortistreamCounterAddMany: 'counter-add-many',
} as const;

export type StateCommandName = keyof typeof STATE_SCRIPTS;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fortistreamSessionOpen(expiry: RedisKey, audit: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
    fortistreamSessionRefresh(expiry: RedisKey, audit: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
    fortistreamSessionClose(expiry: RedisKey, audit: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
    fortistreamSessionApply(expiry: RedisKey, audit: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
    fortistreamSessionRevoke(expiry: RedisKey, audit: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
    fortistreamSessionSweep(expiry: RedisKey, audit: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
    fortistreamCounterAdd(buckets: RedisKey, alert: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
    fortistreamCounterAddMany(numKeys: number, ...keysThenArgv: RedisValue[]): Result<unknown, Context>;
  }
}

const INCLUDE_LINE = /^--@include ([a-z0-9-]+)[ \t]*$/gm;

function readLua(relativePath: string): string {
  return readFileSync(new URL(`./lua/${relativePath}`, import.meta.url), 'utf8');
}

/**
 * The text of `lua/<name>.lua` with every `--@include x` line replaced by `lua/includes/x.lua`
 * (recursively; each include at most once per script, so helpers are never defined twice).
 */
export function loadLuaScript(name: string): string {
  const included = new Set<string>();
  const expand = (source: string, from: string): string =>
    source.replace(INCLUDE_LINE, (_line, include: string) => {
      if (included.has(include)) return `-- (${include} already included)`;
      included.add(include);
      const text = readLua(`includes/${include}.lua`);
      return `-- begin include ${include} (from ${from})\n${expand(text, include)}\n-- end include ${include}`;
    });
  return expand(readLua(`${name}.lua`), name);
}

/** From the file name; `-many` scripts take a variable number of keys (undefined: given per call). */
function numberOfKeys(name: string): number | undefined {
  if (name.endsWith('-many')) return undefined;
  const match = /-(\d+)$/.exec(name);
  if (!match?.[1]) throw new Error(`script name ${name} does not end in -<numKeys>`);
  return Number(match[1]);
}

const sources = new Map<string, string>();
const clientsWithCommands = new WeakSet<object>();

/** Registers the state scripts on a client with `defineCommand` (EVALSHA + NOSCRIPT fallback by ioredis). */
export function defineStateCommands(redis: StateRedis): void {
  if (clientsWithCommands.has(redis)) return;
  for (const [command, file] of Object.entries(STATE_SCRIPTS)) {
    let lua = sources.get(file);
    if (lua === undefined) {
      lua = loadLuaScript(file);
      sources.set(file, lua);
    }
    const keys = numberOfKeys(file);
    redis.defineCommand(command, keys === undefined ? { lua } : { lua, numberOfKeys: keys });
  }
  clientsWithCommands.add(redis);
}
