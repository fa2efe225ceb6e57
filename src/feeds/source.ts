/**
 * Computes feed bodies from Redis, cached briefly so that many FortiGates polling at once cost one
 * computation: a body is reused for `cacheMs` after it was computed, concurrent requests share the
 * computation in flight, and every group feed is computed from one read of the sessions.
 */

import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { StateRedis } from '../state/script-loader.js';
import type { StateKeys } from '../state/keys.js';
import { readList } from './address-lists.js';
import { renderFeed, type RenderedFeed } from './body.js';
import { groupKey, readGroupAddresses } from './membership.js';
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
}

export interface FeedSource {
  readonly feeds: ReadonlyMap<string, FeedDefinition>;
  /** The current body of a feed (cached), or undefined for an unknown name. */
  get(name: string): Promise<RenderedFeed | undefined>;
  /** Computes a feed now, bypassing the cache (the pusher's snapshots). */
  compute(feed: FeedDefinition): Promise<RenderedFeed>;
}

interface Cached<T> {
  readonly value: Promise<T>;
  settledAt: number | undefined;
}

/** Truncation warnings per feed: at most one per this period (the metric counts every cut). */
const WARN_EVERY_MS = 60_000;

/** A metric from `registry`, created once (a second source on the same registry reuses it). */
export function registeredMetric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

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
  let groupRead: Cached<Map<string, Set<string>>> | undefined;

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

  const groupAddresses = (at: number): Promise<Map<string, Set<string>>> => {
    if (!fresh(groupRead, at)) {
      const entry: Cached<Map<string, Set<string>>> = cache(
        () => readGroupAddresses(redis, keys, groups, at),
        () => {
          if (groupRead === entry) groupRead = undefined;
        },
      );
      groupRead = entry;
    }
    return groupRead.value;
  };

  const addressesOf = async (feed: FeedDefinition, at: number, shared: boolean): Promise<Iterable<string>> => {
    if (feed.source.type === 'list') return readList(redis, keys, feed.source.list, at);
    const read = shared ? await groupAddresses(at) : await readGroupAddresses(redis, keys, [feed.source.group], at);
    return read.get(groupKey(feed.source.group)) ?? [];
  };

  const render = async (feed: FeedDefinition, shared: boolean): Promise<RenderedFeed> => {
    const rendered = renderFeed(await addressesOf(feed, now(), shared), feed.maxBytes);
    entriesGauge.set({ feed: feed.name }, rendered.total);
    if (rendered.truncated) {
      truncatedTotal.inc({ feed: feed.name });
      const at = now();
      if (at - (lastWarned.get(feed.name) ?? -Infinity) >= WARN_EVERY_MS) {
        lastWarned.set(feed.name, at);
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
          () => render(feed, true),
          () => {
            if (bodies.get(name) === created) bodies.delete(name);
          },
        );
        bodies.set(name, created);
        entry = created;
      }
      return entry.value;
    },
    compute: (feed) => render(feed, false),
  };
}
