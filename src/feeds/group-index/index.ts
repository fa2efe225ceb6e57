/**
 * Group membership in memory, kept up to date from the audit stream, so that computing a group
 * feed costs what changed since the last computation rather than a read of every session.
 *
 * Start: one full load. XINFO STREAM gives, in one atomic reply, the id of the newest audit entry
 * and how many entries the stream ever had; then every session listed in the expiry index is read
 * (four short fields each, in pipelined pages). Every session script writes its audit entry in the
 * same atomic call as its change, so everything up to that id is in what the load reads, and
 * replaying the entries after it is safe: each session entry states the session's whole membership
 * (`session.opened` / `refreshed` carry its groups and addresses, `closed` / `expired` / `revoked`
 * end it), so applying one the load already saw changes nothing.
 *
 * Each read then catches up: XREAD from the last entry applied, in a MULTI with XINFO STREAM. Once
 * caught up, the stream's own count of entries ever added must equal the load's count plus the
 * entries read since; if not, entries were trimmed (`MAXLEN ~`) before they were read (or the
 * stream was deleted), and the index reloads instead of serving a feed with a hole in it.
 *
 * Expiry: sessions due but not yet swept are left out, as before. The index knows each session's
 * expiry from its last entry; an idle session's expiry moves without one (`audit_refresh` is off by
 * default), so when a known expiry passes the index reads the stored one (one HMGET per session,
 * pipelined), see state.ts.
 *
 * Safety net: every `resyncMs` a fresh load is built in the background while reads go on from the
 * current state; when it is ready, both are caught up to the same entry and compared, the
 * differences are counted (`fortistream_feed_index_drift_total`, which should stay at 0) and
 * logged, and the fresh state replaces the old one.
 *
 * Each process (and each feed source in it) keeps its own index: several workers need nothing
 * shared, and a restart is a new load. Every key read (stream, expiry index, session hashes) carries
 * the identity hash tag, so a Redis Cluster serves them all from one slot.
 */

import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { parseReadReply } from '../../client/stream-replies.js';
import { errorMessage } from '../../errors.js';
import type { StateKeys } from '../../state/keys.js';
import type { StateRedis } from '../../state/script-loader.js';
import { EXPIRES_FIELD, groupKey, readSessionFields } from '../membership.js';
import { registeredMetric } from '../metrics.js';
import { GroupMembershipState, type GroupAddresses } from './state.js';

export type { GroupAddresses } from './state.js';

export interface GroupIndexOptions {
  readonly redis: StateRedis;
  readonly keys: StateKeys;
  /** Groups to index (any case; compared as `groupKey`). */
  readonly groups: Iterable<string>;
  readonly logger: Logger;
  /** Where the index metrics are registered; default a registry of its own. */
  readonly registry?: Registry;
  /** A full reload in the background this often, ms; default 600,000. 0: never (gaps still reload). */
  readonly resyncMs?: number;
  /** Audit entries per XREAD, and sessions per pipelined page when loading; default 1,000. */
  readonly pageSize?: number;
  /** Clock of the resync schedule; default `Date.now`. */
  readonly now?: () => number;
}

export interface GroupIndexStats {
  /** Full loads so far (start, resyncs, gaps). */
  readonly loads: number;
  /** Audit entries read since start. */
  readonly entriesRead: number;
  /** Sessions whose stored expiry was read because their known one had passed. */
  readonly expiryChecks: number;
  /** Sessions in the current state (in a wanted group; due ones included). */
  readonly tracked: number;
}

export interface GroupIndex {
  /** The indexed groups (`groupKey`). */
  readonly groups: ReadonlySet<string>;
  /**
   * Catches up with the audit stream (loading first if needed) and returns each indexed group's
   * addresses: source and tunnel IPs of its sessions live at `nowMs`. Concurrent reads share work.
   */
  read(nowMs: number): Promise<ReadonlyMap<string, GroupAddresses>>;
  stats(): GroupIndexStats;
}

/** The XINFO STREAM fields the index needs; undefined when the reply has another shape. */
function streamInfo(reply: unknown): { lastId: string; entriesAdded: number } | undefined {
  const fields = new Map<string, unknown>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  } else if (reply instanceof Map) {
    for (const [name, value] of reply) fields.set(String(name), value);
  } else {
    return undefined;
  }
  const lastId = fields.get('last-generated-id');
  const entriesAdded = Number(fields.get('entries-added'));
  if (typeof lastId !== 'string' || !Number.isInteger(entriesAdded)) return undefined;
  return { lastId, entriesAdded };
}

function isNoSuchKey(error: unknown): boolean {
  return /no such key/i.test(errorMessage(error));
}

/** Addresses in one state's group and not in the other's, summed over the groups. */
function differences(a: GroupMembershipState, b: GroupMembershipState): number {
  let count = 0;
  for (const group of a.wanted) {
    const left = new Set(a.addresses(group).addresses);
    const right = new Set(b.addresses(group).addresses);
    for (const address of left) if (!right.has(address)) count += 1;
    for (const address of right) if (!left.has(address)) count += 1;
  }
  return count;
}

export function createGroupIndex(options: GroupIndexOptions): GroupIndex {
  const { redis, keys } = options;
  const logger = options.logger.child({ component: 'group-index' });
  const stream = keys.auditStream;
  const wanted: ReadonlySet<string> = new Set([...options.groups].map(groupKey));
  const resyncMs = options.resyncMs ?? 600_000;
  const pageSize = options.pageSize ?? 1000;
  const clock = options.now ?? Date.now;
  const registry = options.registry ?? new Registry();
  const loadsTotal = registeredMetric(
    registry,
    'fortistream_feed_index_loads_total',
    () =>
      new Counter({
        name: 'fortistream_feed_index_loads_total',
        help: 'Full reads of the sessions by a group index: start, periodic resync, or gap (audit entries trimmed before they were read)',
        labelNames: ['reason'],
        registers: [registry],
      }),
  );
  const driftTotal = registeredMetric(
    registry,
    'fortistream_feed_index_drift_total',
    () =>
      new Counter({
        name: 'fortistream_feed_index_drift_total',
        help: 'Group feed addresses a periodic resync found wrong in the index (should stay 0)',
        registers: [registry],
      }),
  );

  let version = 0;
  const nextVersion = (): number => (version += 1);
  let state: GroupMembershipState | undefined;
  let loadedAt = Number.NEGATIVE_INFINITY;
  /** A background resync in progress, and its result once ready. */
  let resyncing: Promise<void> | undefined;
  let fresh: GroupMembershipState | undefined;
  let loads = 0;
  let entriesRead = 0;
  let expiryChecks = 0;

  const load = async (reason: 'start' | 'resync' | 'gap'): Promise<GroupMembershipState> => {
    const started = Date.now();
    const loaded = new GroupMembershipState(wanted, nextVersion);
    try {
      const info = streamInfo(await redis.call('XINFO', 'STREAM', stream));
      if (!info) throw new Error(`XINFO STREAM ${stream}: unexpected reply`);
      loaded.position = info.lastId;
      loaded.entriesAdded = info.entriesAdded;
    } catch (error) {
      // no audit stream yet: every entry it will hold comes after this load
      if (!isNoSuchKey(error)) throw error;
    }
    const ids = await redis.zrangebyscore(keys.expiry, '-inf', '+inf');
    for (let start = 0; start < ids.length; start += pageSize) {
      const page = ids.slice(start, start + pageSize);
      const values = await readSessionFields(redis, keys, page);
      for (const [index, value] of values.entries()) {
        if (!Array.isArray(value)) continue;
        const [groups, ip, tunnelIp, expires] = value as unknown[];
        // a hash the safety TTL removed (no sweep ran) has no fields: not a session any more
        if (typeof expires !== 'string' || typeof groups !== 'string') continue;
        loaded.upsert(page[index] as string, groups, typeof ip === 'string' ? ip : undefined, typeof tunnelIp === 'string' ? tunnelIp : undefined, Number(expires));
      }
    }
    loads += 1;
    loadsTotal.inc({ reason });
    const log = reason === 'gap' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log({ reason, sessions: ids.length, tracked: loaded.tracked, position: loaded.position, ms: Date.now() - started }, 'group index loaded');
    return loaded;
  };

  /** Applies the audit entries after `target.position`; 'gap' when some were trimmed before being read. */
  const catchUp = async (target: GroupMembershipState): Promise<'ok' | 'gap'> => {
    for (;;) {
      const replies = await redis.multi().call('XREAD', 'COUNT', pageSize, 'STREAMS', stream, target.position).call('XINFO', 'STREAM', stream).exec();
      if (!replies) throw new Error('group index: MULTI aborted');
      const [[readError, readReply] = [null, null], [infoError, infoReply] = [null, null]] = replies;
      if (readError) throw readError;
      const entries = parseReadReply(readReply);
      for (const entry of entries) {
        if (entry.fields) target.applyEntry(entry.fields);
        target.position = entry.id;
      }
      target.entriesAdded += entries.length;
      entriesRead += entries.length;
      if (entries.length >= pageSize) continue;
      // Caught up as of the XINFO in the same transaction: the counts must agree.
      if (infoError) {
        if (!isNoSuchKey(infoError)) throw infoError;
        return target.entriesAdded === 0 ? 'ok' : 'gap';
      }
      const info = streamInfo(infoReply);
      if (!info) throw new Error(`XINFO STREAM ${stream}: unexpected reply`);
      return info.lastId === target.position && info.entriesAdded === target.entriesAdded ? 'ok' : 'gap';
    }
  };

  /** Reads the stored expiry of the sessions whose known expiry has passed. */
  const checkExpiries = async (target: GroupMembershipState, nowMs: number): Promise<void> => {
    const ids = target.takeExpiryChecks(nowMs);
    if (ids.length === 0) return;
    const expiries: (number | undefined)[] = [];
    try {
      for (let start = 0; start < ids.length; start += pageSize) {
        const pipeline = redis.pipeline();
        for (const id of ids.slice(start, start + pageSize)) pipeline.hmget(keys.session(id), EXPIRES_FIELD);
        for (const [error, value] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          const stored: unknown = Array.isArray(value) ? value[0] : undefined;
          expiries.push(typeof stored === 'string' ? Number(stored) : undefined);
        }
      }
    } catch (error) {
      target.retryExpiryChecks(ids);
      throw error;
    }
    for (const [index, id] of ids.entries()) target.applyExpiryCheck(id, expiries[index], nowMs);
    expiryChecks += ids.length;
  };

  const startResync = (): void => {
    loadedAt = clock();
    resyncing = load('resync').then(
      (loaded) => {
        fresh = loaded;
      },
      (error: unknown) => logger.warn({ err: errorMessage(error) }, 'group index resync failed; the index goes on following the audit stream'),
    );
    void resyncing.finally(() => {
      resyncing = undefined;
    });
  };

  /** Replaces the current state with a resync's, counting where they disagree. */
  const adopt = async (current: GroupMembershipState, next: GroupMembershipState, nowMs: number): Promise<GroupMembershipState> => {
    if ((await catchUp(next)) === 'gap') return current; // the next resync or gap check repairs
    if ((await catchUp(current)) === 'gap') return next;
    if (next.position !== current.position) {
      // entries came in between the two catch-ups: one more round usually brings them level
      if ((await catchUp(next)) === 'gap') return current;
      if (next.position !== current.position && (await catchUp(current)) === 'gap') return next;
    }
    if (next.position === current.position) {
      await checkExpiries(next, nowMs);
      await checkExpiries(current, nowMs);
      const drift = differences(current, next);
      if (drift > 0) {
        driftTotal.inc(drift);
        logger.warn({ addresses: drift, position: next.position }, 'group index had drifted from Redis; the resync corrected it');
      }
    }
    return next;
  };

  const update = async (nowMs: number): Promise<ReadonlyMap<string, GroupAddresses>> => {
    let current = state;
    if (!current) {
      current = await load('start');
      loadedAt = clock();
    } else if (fresh) {
      const next = fresh;
      fresh = undefined;
      current = await adopt(current, next, nowMs);
    }
    state = current;
    if (resyncMs > 0 && !resyncing && clock() - loadedAt >= resyncMs) startResync();
    // a gap right after a reload means the stream is trimmed faster than it is read: at most 3 reloads
    for (let attempt = 0; (await catchUp(current)) === 'gap'; attempt += 1) {
      if (attempt === 3) {
        logger.warn({ stream }, 'group index: audit entries are trimmed faster than they are read; serving what it has (lengthen the audit stream)');
        break;
      }
      current = await load('gap');
      loadedAt = clock();
      state = current;
    }
    await checkExpiries(current, nowMs);
    const result = new Map<string, GroupAddresses>();
    for (const group of wanted) result.set(group, current.addresses(group));
    return result;
  };

  // One update at a time; reads arriving meanwhile share the next one (which starts after they came).
  let tail: Promise<unknown> = Promise.resolve();
  let queued: { nowMs: number; result: Promise<ReadonlyMap<string, GroupAddresses>> } | undefined;

  return {
    groups: wanted,
    read(nowMs) {
      if (queued) {
        queued.nowMs = Math.max(queued.nowMs, nowMs);
        return queued.result;
      }
      const entry: { nowMs: number; result: Promise<ReadonlyMap<string, GroupAddresses>> } = { nowMs, result: Promise.resolve(new Map()) };
      entry.result = tail.then(
        () => {
          if (queued === entry) queued = undefined;
          return update(entry.nowMs);
        },
        () => {
          if (queued === entry) queued = undefined;
          return update(entry.nowMs);
        },
      );
      queued = entry;
      tail = entry.result;
      return entry.result;
    },
    stats: () => ({ loads, entriesRead, expiryChecks, tracked: state?.tracked ?? 0 }),
  };
}
