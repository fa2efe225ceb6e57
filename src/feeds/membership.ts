/**
 * Which addresses belong to a group feed, read from the session hashes.
 *
 * Feeds are served from the in-memory group index (group-index/), which reads every session once
 * at start (`readSessionFields` in pages) and then follows the audit stream. `readGroupAddresses`,
 * the full read (one ZRANGEBYSCORE plus one pipelined HMGET of four short fields per live session,
 * `batchSize` per round trip), remains for a feed outside an index and for comparison in the bench;
 * the push path asks only about the few addresses an audit entry names (`readAddressGroups`: one
 * HMGET on the ip index, then the sessions listed there).
 */

import type { StateRedis } from '../state/script-loader.js';
import type { StateKeys } from '../state/keys.js';
import { STORED_SESSION_FIELDS } from '../state/session-model.js';

function storedName(long: string): string {
  const short = STORED_SESSION_FIELDS[long];
  if (short === undefined) throw new Error(`session field ${long} has no stored name`);
  return short;
}

/** Session hash fields a feed needs, in this order: groups (JSON), ip, tunnel ip, expires_ms. */
export const FEED_FIELDS = [storedName('groups'), storedName('ip'), storedName('tunnel_ip'), storedName('expires_ms')];

/** Group names are compared case-insensitively (FortiGate group names are). */
export function groupKey(group: string): string {
  return group.toLowerCase();
}

function groupsOf(json: string): string[] {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}

/** One HMGET reply: the live session's fields, or undefined (gone, expired, malformed). */
function liveFields(value: unknown, nowMs: number): { groups: string; ip: string; tunnelIp: string } | undefined {
  if (!Array.isArray(value)) return undefined;
  const [groups, ip, tunnelIp, expires] = value as unknown[];
  if (typeof expires !== 'string' || !(Number(expires) > nowMs)) return undefined;
  return {
    groups: typeof groups === 'string' ? groups : '',
    ip: typeof ip === 'string' ? ip : '',
    tunnelIp: typeof tunnelIp === 'string' ? tunnelIp : '',
  };
}

/** The stored expires_ms field of a session hash. */
export const EXPIRES_FIELD = storedName('expires_ms');

/** One pipelined HMGET of FEED_FIELDS per session id (one slot: also on a cluster); replies in order. */
export async function readSessionFields(redis: StateRedis, keys: StateKeys, ids: readonly string[]): Promise<unknown[]> {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.session(id), ...FEED_FIELDS);
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/**
 * For each wanted group (any case), the addresses (source and tunnel IP) of the sessions live at
 * `nowMs` whose groups include it. Keys of the result are `groupKey(group)`.
 */
export async function readGroupAddresses(
  redis: StateRedis,
  keys: StateKeys,
  groups: Iterable<string>,
  nowMs: number,
  batchSize = 1000,
): Promise<Map<string, Set<string>>> {
  const result = new Map<string, Set<string>>();
  for (const group of groups) result.set(groupKey(group), new Set());
  if (result.size === 0) return result;
  // A session's groups are stored as JSON; most sessions are in none of the wanted groups, and a
  // substring test on the lower-cased JSON skips them without parsing.
  const needles = [...result.keys()].map((group) => JSON.stringify(group));
  const ids = await redis.zrangebyscore(keys.expiry, `(${nowMs}`, '+inf');
  for (let start = 0; start < ids.length; start += batchSize) {
    for (const value of await readSessionFields(redis, keys, ids.slice(start, start + batchSize))) {
      const session = liveFields(value, nowMs);
      if (!session || session.groups === '') continue;
      const lowered = session.groups.toLowerCase();
      if (!needles.some((needle) => lowered.includes(needle))) continue;
      for (const group of groupsOf(session.groups)) {
        const addresses = result.get(groupKey(group));
        if (!addresses) continue;
        if (session.ip !== '') addresses.add(session.ip);
        if (session.tunnelIp !== '') addresses.add(session.tunnelIp);
      }
    }
  }
  return result;
}

/**
 * For each address, the groups (`groupKey`) of the sessions live at `nowMs` that hold it as source
 * or tunnel IP; an address without such a session maps to an empty set. Two round trips.
 */
export async function readAddressGroups(
  redis: StateRedis,
  keys: StateKeys,
  addresses: readonly string[],
  nowMs: number,
): Promise<Map<string, Set<string>>> {
  const result = new Map<string, Set<string>>();
  for (const address of addresses) result.set(address, new Set());
  if (addresses.length === 0) return result;
  const listed = await redis.hmget(keys.ipIndex, ...addresses);
  const ids = new Set<string>();
  for (const entry of listed) if (entry) for (const id of entry.split(' ')) if (id !== '') ids.add(id);
  if (ids.size === 0) return result;
  const idList = [...ids];
  for (const value of await readSessionFields(redis, keys, idList)) {
    const session = liveFields(value, nowMs);
    if (!session || session.groups === '') continue;
    const groups = groupsOf(session.groups).map(groupKey);
    for (const address of [session.ip, session.tunnelIp]) {
      const held = address !== '' ? result.get(address) : undefined;
      if (held) for (const group of groups) held.add(group);
    }
  }
  return result;
}
