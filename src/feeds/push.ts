/**
 * Pushes feed changes to FortiGate connectors with `update-method push` (FortiOS ≥ 7.2.1) through
 * an injected `enqueue` (the actions queue: `POST /api/v2/monitor/system/external-resource/dynamic`).
 *
 * It follows the audit stream on its own connection (XREAD BLOCK from the entry that was last when
 * it started), and for each batch of session.opened/closed/expired/revoked and list.added/removed
 * entries re-reads the membership of the addresses they name, from Redis as it is now. Each push
 * feed remembers what it last pushed, so only real changes are enqueued: a second session of the
 * group at an address already listed adds nothing, and an address is removed only when no live
 * session of the group (or list entry) holds it any more. A `snapshot` with the whole list is sent
 * at start and every `snapshot_interval_seconds`, and after any enqueue failed (drift repair); a
 * group's snapshot, and the whole-feed diff after a session vanished without naming an address,
 * come from the feed source's group index (group-index/: one read of the sessions at start, then
 * the audit stream), not from a read of every session.
 *
 * Everything runs in one loop, so snapshots, list expiries and event batches never interleave;
 * the XREAD timeout is shortened to wake for the next snapshot or list expiry.
 */

import { createHash } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { fieldsToRecord, parseReadReply, type RawStreamEntry } from '../client/stream-replies.js';
import { errorMessage } from '../errors.js';
import type { StateRedis } from '../state/script-loader.js';
import type { StateKeys } from '../state/keys.js';
import { isListAddress, LIST_ADDED, LIST_REMOVED, listedAt, nextListExpiry } from './address-lists.js';
import { groupKey, readAddressGroups } from './membership.js';
import type { FeedDefinition } from './settings.js';
import { registeredMetric } from './metrics.js';
import { createFeedSource } from './source.js';

export type FeedPushCommand = 'add' | 'remove' | 'snapshot';

/** One call of FortiOS `system/external-resource/dynamic` for one connector. */
export interface FeedPushJob {
  readonly type: 'feed-push';
  readonly device: string;
  readonly connector: string;
  readonly command: FeedPushCommand;
  readonly entries: string[];
}

/** Queues a job; `idempotencyKey` (letters, digits, `|`, `.`, `_`, `-`; never `:`) dedupes repeats. */
export type FeedPushEnqueue = (job: FeedPushJob, opts?: { idempotencyKey?: string }) => Promise<unknown>;

export interface FeedPusherOptions {
  readonly redis: StateRedis;
  readonly keys: StateKeys;
  /** Every feed; those without `push` are ignored. */
  readonly feeds: readonly FeedDefinition[];
  /** The stream to follow; default `keys.auditStream`. */
  readonly auditStream?: string;
  readonly enqueue: FeedPushEnqueue;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Longest XREAD BLOCK, ms; default 5,000. */
  readonly blockMs?: number;
  /** Entries per XREAD; default 500. */
  readonly readCount?: number;
  /** Wait after a Redis error, and before a failed snapshot is tried again, ms; default 1,000. */
  readonly retryMs?: number;
  /** Clock; default `Date.now`. */
  readonly now?: () => number;
}

export interface FeedPusher {
  /** Feeds being pushed. */
  readonly feeds: readonly string[];
  /** Stops following the stream and waits for the work in progress. */
  close(): Promise<void>;
}

const SESSION_ACTIONS = new Set(['session.opened', 'session.closed', 'session.expired', 'session.revoked']);

interface PushState {
  readonly feed: FeedDefinition;
  readonly push: NonNullable<FeedDefinition['push']>;
  /** What the connector holds after our last successful push; undefined until the first snapshot. */
  current: Set<string> | undefined;
  nextSnapshotAt: number;
  /** An enqueue failed: the next snapshot repairs, and must not be deduplicated with the last one. */
  repair: boolean;
}

function digest(entries: readonly string[]): string {
  return createHash('sha256').update(entries.join('\n')).digest('base64url').slice(0, 16);
}

/** Addresses (and lists) an audit batch touches; `unknown` when a session change names no address. */
interface BatchChanges {
  readonly addresses: Set<string>;
  readonly lists: Map<string, Set<string>>;
  unknown: boolean;
}

function changesOf(entries: readonly RawStreamEntry[]): BatchChanges {
  const changes: BatchChanges = { addresses: new Set(), lists: new Map(), unknown: false };
  for (const entry of entries) {
    const fields = fieldsToRecord(entry.fields ?? []);
    const action = fields['event.action'] ?? '';
    if (SESSION_ACTIONS.has(action)) {
      const ip = fields['session.ip'] ?? '';
      const tunnelIp = fields['session.tunnel_ip'] ?? '';
      if (ip !== '') changes.addresses.add(ip);
      if (tunnelIp !== '') changes.addresses.add(tunnelIp);
      // a session whose hash had vanished (sweep reason `lost`) names no address: re-read all
      if (ip === '' && tunnelIp === '') changes.unknown = true;
    } else if (action === LIST_ADDED || action === LIST_REMOVED) {
      const list = fields['list.name'];
      const address = fields['list.address'];
      if (list === undefined || address === undefined) continue;
      const touched = changes.lists.get(list) ?? new Set<string>();
      touched.add(address);
      changes.lists.set(list, touched);
    }
  }
  return changes;
}

export async function startFeedPusher(options: FeedPusherOptions): Promise<FeedPusher> {
  const { redis, keys, enqueue } = options;
  const logger = options.logger.child({ component: 'feed-pusher' });
  const stream = options.auditStream ?? keys.auditStream;
  const blockMs = options.blockMs ?? 5000;
  const readCount = options.readCount ?? 500;
  const retryMs = options.retryMs ?? 1000;
  const now = options.now ?? Date.now;
  const registry = options.registry ?? new Registry();
  const source = createFeedSource({ redis, keys, feeds: options.feeds, logger, registry, cacheMs: 0, now });
  const jobs = registeredMetric(
    registry,
    'fortistream_feed_push_jobs_total',
    () => new Counter({ name: 'fortistream_feed_push_jobs_total', help: 'Feed push jobs enqueued, by feed and command', labelNames: ['feed', 'command'], registers: [registry] }),
  );
  const failures = registeredMetric(
    registry,
    'fortistream_feed_push_failures_total',
    () => new Counter({ name: 'fortistream_feed_push_failures_total', help: 'Feed pushes that failed (Redis read or enqueue); a repair snapshot follows', labelNames: ['feed'], registers: [registry] }),
  );
  const states: PushState[] = options.feeds.flatMap((feed) => (feed.push ? [{ feed, push: feed.push, current: undefined, nextSnapshotAt: 0, repair: false }] : []));
  // nothing to push: no connection, no loop
  if (states.length === 0) return { feeds: [], close: async () => undefined };
  const connection: StateRedis = redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
  connection.on('error', (error: Error) => logger.debug({ err: error.message }, 'feed pusher redis connection error'));
  let closed = false;
  let lastId = '0-0';
  let nextListCheckAt = Number.POSITIVE_INFINITY;
  let wake: (() => void) | undefined;

  const send = async (state: PushState, command: FeedPushCommand, entries: string[], marker: string): Promise<void> => {
    const { device, connector } = state.push;
    const idempotencyKey = ['feed-push', device, connector, command, marker, digest(entries)].join('|');
    await enqueue({ type: 'feed-push', device, connector, command, entries }, { idempotencyKey });
    jobs.inc({ feed: state.feed.name, command });
    logger.debug({ feed: state.feed.name, device, connector, command, entries: entries.length }, 'feed push enqueued');
  };

  const failed = (state: PushState, error: unknown): void => {
    failures.inc({ feed: state.feed.name });
    state.repair = true;
    state.nextSnapshotAt = Math.min(state.nextSnapshotAt, now() + retryMs);
    logger.warn({ feed: state.feed.name, err: errorMessage(error) }, 'feed push could not be enqueued; a snapshot will repair the connector');
  };

  const snapshot = async (state: PushState): Promise<void> => {
    const at = now();
    try {
      const entries = [...(await source.compute(state.feed)).addresses];
      // scheduled snapshots of one interval share a key (two workers send one); a repair is its own
      await send(state, 'snapshot', entries, state.repair ? `repair.${at}` : String(Math.floor(at / state.push.snapshotIntervalMs)));
      state.repair = false;
      state.current = new Set(entries);
      state.nextSnapshotAt = at + state.push.snapshotIntervalMs;
      logger.info({ feed: state.feed.name, connector: state.push.connector, device: state.push.device, entries: entries.length }, 'feed snapshot enqueued');
    } catch (error) {
      state.nextSnapshotAt = at + retryMs;
      failed(state, error);
    }
  };

  /** Enqueues the removals, then the additions; `current` follows what was enqueued. */
  const apply = async (state: PushState, adds: string[], removes: string[], marker: string): Promise<void> => {
    const current = state.current;
    if (!current) return;
    try {
      if (removes.length > 0) {
        await send(state, 'remove', removes, marker);
        for (const address of removes) current.delete(address);
      }
      if (adds.length > 0) {
        await send(state, 'add', adds, marker);
        for (const address of adds) current.add(address);
      }
    } catch (error) {
      failed(state, error);
    }
  };

  /** Diff of the named addresses: `member` says whether each belongs to the feed now. */
  const applyTargeted = async (state: PushState, addresses: Iterable<string>, member: (address: string) => boolean, marker: string): Promise<void> => {
    const current = state.current;
    if (!current) return; // the pending snapshot covers it
    const adds: string[] = [];
    const removes: string[] = [];
    for (const address of addresses) {
      const belongs = member(address) && isListAddress(address);
      if (belongs && !current.has(address)) adds.push(address);
      else if (!belongs && current.has(address)) removes.push(address);
    }
    await apply(state, adds, removes, marker);
  };

  /** Diff of the whole feed (list expiries, sessions that vanished without an address). */
  const resync = async (state: PushState, marker: string): Promise<void> => {
    const current = state.current;
    if (!current) return;
    const target = new Set((await source.compute(state.feed)).addresses);
    await apply(
      state,
      [...target].filter((a) => !current.has(a)),
      [...current].filter((a) => !target.has(a)),
      marker,
    );
  };

  const refreshListCheck = async (): Promise<void> => {
    let next = Number.POSITIVE_INFINITY;
    const at = now();
    for (const state of states) {
      if (state.feed.source.type !== 'list') continue;
      const expiry = await nextListExpiry(redis, keys, state.feed.source.list, at);
      if (expiry !== undefined && expiry < next) next = expiry;
    }
    // one ms past the expiry: an entry counts as expired once its score is ≤ now
    nextListCheckAt = next + 1;
  };

  const processBatch = async (entries: readonly RawStreamEntry[]): Promise<void> => {
    const changes = changesOf(entries);
    const marker = entries[entries.length - 1]?.id ?? lastId;
    const at = now();
    const groupStates = states.filter((s) => s.feed.source.type === 'group');
    if (groupStates.length > 0 && changes.unknown) {
      for (const state of groupStates) await resync(state, `${marker}.all`);
    } else if (groupStates.length > 0 && changes.addresses.size > 0) {
      const addresses = [...changes.addresses];
      const groups = await readAddressGroups(redis, keys, addresses, at);
      for (const state of groupStates) {
        if (state.feed.source.type !== 'group') continue;
        const wanted = groupKey(state.feed.source.group);
        await applyTargeted(state, addresses, (address) => groups.get(address)?.has(wanted) === true, marker);
      }
    }
    if (changes.lists.size === 0) return;
    for (const state of states) {
      if (state.feed.source.type !== 'list') continue;
      const touched = changes.lists.get(state.feed.source.list);
      if (!touched) continue;
      const addresses = [...touched];
      const listed = await listedAt(redis, keys, state.feed.source.list, addresses, at);
      const onList = new Set(addresses.filter((_, index) => listed[index] === true));
      await applyTargeted(state, addresses, (address) => onList.has(address), marker);
    }
    await refreshListCheck();
  };

  /** Snapshots that are due, then list expiries that are due. */
  const dueWork = async (): Promise<void> => {
    for (const state of states) if (now() >= state.nextSnapshotAt) await snapshot(state);
    if (now() >= nextListCheckAt) {
      for (const state of states) if (state.feed.source.type === 'list') await resync(state, `${lastId}.expiry.${now()}`);
      await refreshListCheck();
    }
  };

  const nextDue = (): number => Math.min(nextListCheckAt, ...states.map((s) => s.nextSnapshotAt));

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });

  const run = async (): Promise<void> => {
    while (!closed) {
      try {
        await dueWork();
        if (closed) break;
        const block = Math.max(1, Math.min(blockMs, Math.ceil(nextDue() - now())));
        const reply = await connection.call('XREAD', 'COUNT', readCount, 'BLOCK', block, 'STREAMS', stream, lastId);
        if (closed) break;
        const entries = parseReadReply(reply);
        if (entries.length === 0) continue;
        await processBatch(entries);
        // only now: a batch that failed half-way is read again (the idempotency keys stay the same)
        lastId = entries[entries.length - 1]?.id ?? lastId;
      } catch (error) {
        if (closed) break;
        logger.warn({ err: errorMessage(error) }, 'feed pusher: redis error; retrying');
        await pause(retryMs);
      }
    }
  };

  // `$` resolved once to the newest entry: a change made after this point is read by the loop.
  try {
    const newest = await redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    lastId = newest[0]?.[0] ?? '0-0';
    for (const state of states) await snapshot(state);
    await refreshListCheck();
  } catch (error) {
    connection.disconnect();
    throw error;
  }
  logger.info({ feeds: states.map((s) => s.feed.name), stream }, 'feed pusher started');
  const loop = run();

  return {
    feeds: states.map((s) => s.feed.name),
    async close() {
      if (closed) return loop;
      closed = true;
      // disconnect (not QUIT) ends a blocked XREAD at once
      connection.disconnect();
      wake?.();
      await loop;
    },
  };
}
