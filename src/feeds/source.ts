/**
 * Computes feed bodies from Redis, cached briefly so that many FortiGates polling at once cost one
 * computation: a body is reused for `cacheMs` after it was computed, and concurrent requests share
 * the computation in flight. Group feeds come from one group index per source (group-index/),
 * which follows the audit stream and keeps each group's addresses in feed order: a computation costs
 * what changed since the last one, and a group whose addresses did not change is not rendered again.
 */

import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { errorMessage } from '../errors.js';
import type { StateRedis } from '../state/script-loader.js';
import type { StateKeys } from '../state/keys.js';
import { readList } from './address-lists.js';
import { renderFeed, renderSortedFeed, type RenderedFeed } from './body.js';
import { createGroupIndex, type GroupAddresses, type GroupIndex, type GroupIndexStats } from './group-index/index.js';
import { groupKey, readGroupAddresses } from './membership.js';
import { registeredMetric } from './metrics.js';
import type { FeedDefinition } from './settings.js';

export interface FeedSourceOptions {
  readonly redis: StateRedis;
  readonly keys: StateKeys;
  readonly feeds: readonly FeedDefinition[];
  readonly logger: Logger;
  /** How long a computed body is served again; default 1,000 ms. 0 computes on every request. */
  readonly cacheMs?: number;
  /** Where the feed metrics are registered (the worker's registry, so /metrics shows them). */
  readonly registry?: Registry;
  /** Clock; default `Date.now`. */
  readonly now?: () => number;
  /** Full reload of the group index in the background this often, ms; default 600,000 (group-index/). */
  readonly indexResyncMs?: number;
}

export interface FeedSource {
  readonly feeds: ReadonlyMap<string, FeedDefinition>;
  /** The current body of a feed (cached), or undefined for an unknown name. */
  get(name: string): Promise<RenderedFeed | undefined>;
  /** Computes a feed now, bypassing the cache (the pusher's snapshots). */
  compute(feed: FeedDefinition): Promise<RenderedFeed>;
  /** The group index's counters; undefined without group feeds. */
  indexStats(): GroupIndexStats | undefined;
}

interface Cached<T> {
  readonly value: Promise<T>;
  settledAt: number | undefined;
}

/** Truncation warnings per feed: at most one per this period (the metric counts every cut). */
const WARN_EVERY_MS = 60_000;

export function createFeedSource(options: FeedSourceOptions): FeedSource {
  const { redis, keys, logger } = options;
  const cacheMs = options.cacheMs ?? 1000;
  const now = options.now ?? Date.now;
  const registry = options.registry ?? new Registry();
  const feeds = new Map(options.feeds.map((feed) => [feed.name, feed]));
  const groups = [...new Set(options.feeds.flatMap((feed) => (feed.source.type === 'group' ? [groupKey(feed.source.group)] : [])))];
  const truncatedTotal = registeredMetric(
    registry,
    'fortistream_feed_truncated_total',
    () =>
      new Counter({
        name: 'fortistream_feed_truncated_total',
        help: 'Feed bodies cut at max_bytes (counted once per computation, at most once per second per feed)',
        labelNames: ['feed'],
        registers: [registry],
      }),
  );
  const entriesGauge = registeredMetric(
    registry,
    'fortistream_feed_entries',
    () =>
      new Gauge({
        name: 'fortistream_feed_entries',
        help: 'Addresses in a feed at its last computation, before any cut at max_bytes',
        labelNames: ['feed'],
        registers: [registry],
      }),
  );
  const lastWarned = new Map<string, number>();
  const bodies = new Map<string, Cached<RenderedFeed>>();
  let index: GroupIndex | undefined =
    groups.length > 0
      ? createGroupIndex({ redis, keys, groups, logger, registry, now, ...(options.indexResyncMs !== undefined ? { resyncMs: options.indexResyncMs } : {}) })
      : undefined;
  /** The last body of each group feed, with the group version it was rendered from. */
  const groupBodies = new Map<string, { version: number; rendered: RenderedFeed }>();

  /** A cached entry is fresh while its computation runs and for cacheMs after it settled. */
  const fresh = <T>(entry: Cached<T> | undefined, at: number): entry is Cached<T> =>
    entry !== undefined && (entry.settledAt === undefined || at - entry.settledAt < cacheMs);

  const cache = <T>(compute: () => Promise<T>, drop: () => void): Cached<T> => {
    const entry: Cached<T> = { value: compute(), settledAt: undefined };
    entry.value.then(
      () => {
        entry.settledAt = now();
      },
      () => drop(),
    );
    return entry;
  };

  /** The group's addresses from the index; undefined when the index cannot serve it. */
  const indexed = async (key: string, at: number): Promise<GroupAddresses | undefined> => {
    if (!index?.groups.has(key)) return undefined;
    try {
      return (await index.read(at)).get(key);
    } catch (error) {
      // A worker ACL user derived before the index existed lacks XINFO: serve from full reads, as before
      if (!/NOPERM/.test(errorMessage(error))) throw error;
      logger.warn({ err: errorMessage(error) }, 'group index refused by Redis ACL; group feeds read every session instead (re-run `fortistream acl` and apply the new rules)');
      index = undefined;
      return undefined;
    }
  };

  const renderGroup = async (feed: FeedDefinition, group: string, at: number): Promise<RenderedFeed> => {
    const key = groupKey(group);
    const members = await indexed(key, at);
    if (members === undefined) return renderFeed((await readGroupAddresses(redis, keys, [key], at)).get(key) ?? [], feed.maxBytes);
    const last = groupBodies.get(feed.name);
    if (last && last.version === members.version) return last.rendered;
    const rendered = renderSortedFeed(members.addresses, feed.maxBytes);
    groupBodies.set(feed.name, { version: members.version, rendered });
    return rendered;
  };

  const render = async (feed: FeedDefinition): Promise<RenderedFeed> => {
    const at = now();
    const rendered =
      feed.source.type === 'list'
        ? renderFeed(await readList(redis, keys, feed.source.list, at), feed.maxBytes)
        : await renderGroup(feed, feed.source.group, at);
    entriesGauge.set({ feed: feed.name }, rendered.total);
    if (rendered.truncated) {
      truncatedTotal.inc({ feed: feed.name });
      const warnAt = now();
      if (warnAt - (lastWarned.get(feed.name) ?? -Infinity) >= WARN_EVERY_MS) {
        lastWarned.set(feed.name, warnAt);
        logger.warn(
          { feed: feed.name, entries: rendered.total, served: rendered.addresses.length, max_bytes: feed.maxBytes },
          'feed cut at max_bytes: the FortiGate gets only the first addresses (raise max_bytes if the FortiGate allows, or split the feed)',
        );
      }
    }
    return rendered;
  };

  return {
    feeds,
    async get(name) {
      const feed = feeds.get(name);
      if (!feed) return undefined;
      const at = now();
      let entry = bodies.get(name);
      if (!fresh(entry, at)) {
        const created: Cached<RenderedFeed> = cache(
          () => render(feed),
          () => {
            if (bodies.get(name) === created) bodies.delete(name);
          },
        );
        bodies.set(name, created);
        entry = created;
      }
      return entry.value;
    },
    compute: (feed) => render(feed),
    indexStats: () => index?.stats(),
  };
}
