import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { addToList, removeFromList } from '../../../src/feeds/address-lists.js';
import { startFeedPusher, type FeedPushJob, type FeedPusher } from '../../../src/feeds/push.js';
import { defineFeed, feedsSettingsSchema, type FeedDefinition } from '../../../src/feeds/settings.js';
import type { SessionOpenInput } from '../../../src/state/session-model.js';
import { createSessionStore, type SessionStore } from '../../../src/state/sessions.js';
import type { StateKeys } from '../../../src/state/keys.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

interface Recorded {
  readonly job: FeedPushJob;
  readonly key: string | undefined;
}

const silent = pino({ level: process.env.PUSH_DEBUG ? 'debug' : 'silent' });

describe('feed pusher', () => {
  const redis = testRedisClient();
  const prefixes: string[] = [];
  let pusher: FeedPusher | undefined;

  afterEach(async () => {
    await pusher?.close();
    pusher = undefined;
  });

  afterAll(async () => {
    for (const prefix of prefixes) {
      const found = await redis.keys(`${prefix}*`);
      if (found.length > 0) await redis.del(...found);
    }
    await redis.quit();
  });

  /** Feeds finance (group), blocked (list) and marker (list, to know when earlier entries were handled). */
  function feedsWith(snapshotIntervalMs = 300_000): FeedDefinition[] {
    const settings = feedsSettingsSchema.parse({
      finance: { type: 'group', group: 'Finance', push: { device: 'fgt_hq', connector: 'fs-finance' } },
      blocked: { type: 'list', list: 'blocked', push: { device: 'fgt_hq', connector: 'fs-blocked' } },
      marker: { type: 'list', list: 'marker', push: { device: 'fgt_hq', connector: 'fs-marker' } },
      pull_only: { type: 'group', group: 'Finance' },
    });
    return Object.entries(settings).map(([name, s]) => {
      const feed = defineFeed(name, s);
      // the schema's floor is 10 s; the interval test needs a short one
      return feed.push ? { ...feed, push: { ...feed.push, snapshotIntervalMs } } : feed;
    });
  }

  interface Harness {
    readonly store: SessionStore;
    readonly keys: StateKeys;
    readonly jobs: Recorded[];
    login(user: string, ip: string, overrides?: Partial<SessionOpenInput>): Promise<unknown>;
    logout(user: string): Promise<unknown>;
    /** Jobs of one connector, from `from` on. */
    of(connector: string, from?: number): FeedPushJob[];
    /** Adds a marker address and waits for its job: every entry written before it has been handled. */
    settle(): Promise<void>;
  }

  async function start(options: { snapshotIntervalMs?: number; enqueue?: (job: FeedPushJob, opts?: { idempotencyKey?: string }) => Promise<unknown>; before?: (h: Harness) => Promise<void> } = {}): Promise<Harness> {
    const prefix = uniquePrefix('push');
    prefixes.push(prefix);
    const store = createSessionStore(redis, { prefix });
    const keys = store.layout;
    const jobs: Recorded[] = [];
    let markers = 0;
    const sessions = new Map<string, string>();
    const harness: Harness = {
      store,
      keys,
      jobs,
      async login(user, ip, overrides = {}) {
        const now = Date.now();
        const result = await store.open(
          { user, groups: ['finance'], ip, device: 'FGT1', method: 'firewall', eventTimeMs: now, timeoutType: 'idle', timeoutSeconds: 3600, openedBy: `login-${user}`, externalId: user, ...overrides },
          now,
        );
        sessions.set(user, result.id);
        return result;
      },
      logout: (user) => store.close({ by: 'id', id: sessions.get(user) ?? '' }, Date.now(), 'logout'),
      of: (connector, from = 0) => jobs.slice(from).map((r) => r.job).filter((j) => j.connector === connector),
      async settle() {
        markers += 1;
        const address = `10.255.${markers >> 8}.${markers & 255}`;
        await addToList(redis, keys, 'marker', address, null);
        const seen = await waitFor(
          () => harness.of('fs-marker'),
          (found) => found.some((j) => j.command === 'add' && j.entries.includes(address)),
        );
        expect(seen.some((j) => j.entries.includes(address)), `marker ${address} pushed`).toBe(true);
      },
    };
    await options.before?.(harness);
    const record = async (job: FeedPushJob, opts?: { idempotencyKey?: string }): Promise<void> => {
      jobs.push({ job, key: opts?.idempotencyKey });
    };
    pusher = await startFeedPusher({
      redis,
      keys,
      feeds: feedsWith(options.snapshotIntervalMs),
      auditStream: keys.auditStream,
      enqueue: options.enqueue ?? record,
      logger: silent,
      registry: new Registry(),
      blockMs: 200,
      retryMs: 100,
    });
    return harness;
  }

  it('does nothing without push feeds', async () => {
    const settings = feedsSettingsSchema.parse({ pull_only: { type: 'group', group: 'Finance' } });
    const jobs: FeedPushJob[] = [];
    const idle = await startFeedPusher({
      redis,
      keys: createSessionStore(redis, { prefix: uniquePrefix('push-none') }).layout,
      feeds: Object.entries(settings).map(([name, s]) => defineFeed(name, s)),
      enqueue: async (job) => {
        jobs.push(job);
      },
      logger: silent,
    });
    expect(idle.feeds).toEqual([]);
    await idle.close();
    expect(jobs).toEqual([]);
  });

  it('snapshots every push feed at start, with what Redis holds then', async () => {
    const h = await start({
      before: async (harness) => {
        await harness.login('alice', '10.3.0.1');
        await harness.login('zed', '10.3.0.9', { groups: ['staff'] });
        await addToList(redis, harness.keys, 'blocked', '203.0.113.5', null);
      },
    });
    expect(pusher?.feeds).toEqual(['finance', 'blocked', 'marker']);
    expect(h.jobs.map((r) => r.job)).toEqual([
      { type: 'feed-push', device: 'fgt_hq', connector: 'fs-finance', command: 'snapshot', entries: ['10.3.0.1'] },
      { type: 'feed-push', device: 'fgt_hq', connector: 'fs-blocked', command: 'snapshot', entries: ['203.0.113.5'] },
      { type: 'feed-push', device: 'fgt_hq', connector: 'fs-marker', command: 'snapshot', entries: [] },
    ]);
    for (const { key } of h.jobs) expect(key).toMatch(/^feed-push\|fgt_hq\|fs-[a-z]+\|snapshot\|\d+\|[A-Za-z0-9_-]{16}$/);
  });

  it('adds on login, ignores a second session at the same address, removes only when the last one ends', async () => {
    const h = await start();
    const mark = h.jobs.length;
    await h.login('alice', '10.3.0.1');
    await waitFor(() => h.of('fs-finance', mark), (jobs) => jobs.length > 0);
    expect(h.of('fs-finance', mark)).toEqual([{ type: 'feed-push', device: 'fgt_hq', connector: 'fs-finance', command: 'add', entries: ['10.3.0.1'] }]);
    const addKey = h.jobs.find((r) => r.job.connector === 'fs-finance' && r.job.command === 'add')?.key ?? '';
    expect(addKey).toMatch(/^feed-push\|fgt_hq\|fs-finance\|add\|\d+-\d+\|[A-Za-z0-9_-]{16}$/);

    await h.login('bob', '10.3.0.1', { groups: ['FINANCE', 'staff'] });
    await h.login('carol', '10.3.0.7', { groups: ['staff'] });
    await h.settle();
    expect(h.of('fs-finance', mark)).toHaveLength(1);

    await h.logout('alice');
    await h.settle();
    expect(h.of('fs-finance', mark)).toHaveLength(1);

    await h.logout('bob');
    await waitFor(() => h.of('fs-finance', mark), (jobs) => jobs.length > 1);
    expect(h.of('fs-finance', mark).slice(1)).toEqual([{ type: 'feed-push', device: 'fgt_hq', connector: 'fs-finance', command: 'remove', entries: ['10.3.0.1'] }]);
    await h.settle();
    expect(h.of('fs-finance', mark)).toHaveLength(2);
  });

  it('removes on revocation and on expiry, and pushes tunnel addresses too', async () => {
    const h = await start();
    const mark = h.jobs.length;
    await h.login('dan', '198.51.100.4', { method: 'sslvpn', tunnelIp: '10.212.0.4' });
    await h.login('eve', '10.3.0.5', { timeoutSeconds: 60 });
    await waitFor(() => h.of('fs-finance', mark), (jobs) => jobs.length >= 2);
    expect(h.of('fs-finance', mark).map((j) => [j.command, [...j.entries].sort()])).toEqual([
      ['add', ['10.212.0.4', '198.51.100.4']],
      ['add', ['10.3.0.5']],
    ]);

    await h.store.revoke({ by: 'user', user: 'dan' }, Date.now(), 'incident', 'test');
    await waitFor(() => h.of('fs-finance', mark), (jobs) => jobs.length >= 3);
    expect(h.of('fs-finance', mark).slice(2).map((j) => [j.command, [...j.entries].sort()])).toEqual([['remove', ['10.212.0.4', '198.51.100.4']]]);

    const swept = await h.store.sweep(Date.now() + 120_000);
    expect(swept.expired.map((s) => s.user)).toEqual(['eve']);
    await waitFor(() => h.of('fs-finance', mark), (jobs) => jobs.length >= 4);
    expect(h.of('fs-finance', mark).slice(3)).toEqual([{ type: 'feed-push', device: 'fgt_hq', connector: 'fs-finance', command: 'remove', entries: ['10.3.0.5'] }]);
  });

  it('follows list additions, removals and expiries', async () => {
    const h = await start();
    const mark = h.jobs.length;
    await addToList(redis, h.keys, 'blocked', '203.0.113.7', null, { reason: 'ban-ip' });
    await addToList(redis, h.keys, 'blocked', '203.0.113.7', null, { reason: 'ban-ip again' });
    await addToList(redis, h.keys, 'blocked', '203.0.113.8', Date.now() + 1500);
    await waitFor(() => h.of('fs-blocked', mark), (jobs) => jobs.length >= 1);
    await h.settle();
    // the two additions of .7 may arrive in one batch with .8 or not: what counts is each address once
    const added = h.of('fs-blocked', mark).filter((j) => j.command === 'add').flatMap((j) => j.entries);
    expect(added.sort()).toEqual(['203.0.113.7', '203.0.113.8']);

    await removeFromList(redis, h.keys, 'blocked', '203.0.113.7');
    const removed = await waitFor(
      () => h.of('fs-blocked', mark).filter((j) => j.command === 'remove'),
      (jobs) => jobs.flatMap((j) => j.entries).includes('203.0.113.8'),
    );
    // .7 removed by the call, .8 when its expiry passed (no entry announced it: the pusher's timer did),
    // in whichever order the machine's speed gives
    expect(removed.map((j) => j.entries).sort()).toEqual([['203.0.113.7'], ['203.0.113.8']]);
  });

  it('sends a snapshot every interval, each with its own idempotency key', async () => {
    const h = await start({ snapshotIntervalMs: 400 });
    const snapshots = (): Recorded[] => h.jobs.filter((r) => r.job.connector === 'fs-finance' && r.job.command === 'snapshot');
    await h.login('gina', '10.3.0.8');
    const found = await waitFor(snapshots, (list) => list.length >= 3);
    expect(found.length).toBeGreaterThanOrEqual(3);
    expect(found.at(-1)?.job.entries).toEqual(['10.3.0.8']);
    const keys = found.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('repairs with a snapshot when a job could not be enqueued', async () => {
    let failNext = false;
    const jobs: Recorded[] = [];
    const h = await start({
      enqueue: async (job, opts) => {
        if (failNext && job.command === 'add') {
          failNext = false;
          throw new Error('queue unavailable');
        }
        jobs.push({ job, key: opts?.idempotencyKey });
      },
    });
    failNext = true;
    await h.login('frank', '10.3.0.6');
    const snapshots = (): Recorded[] => jobs.filter((r) => r.job.connector === 'fs-finance' && r.job.command === 'snapshot');
    const found = await waitFor(snapshots, (list) => list.length >= 2);
    expect(found.map((r) => r.job.entries)).toEqual([[], ['10.3.0.6']]);
    // not the scheduled snapshot's key (that one may already be taken by this interval's snapshot)
    expect(found[1]?.key).toMatch(/^feed-push\|fgt_hq\|fs-finance\|snapshot\|repair\.\d+\|/);
    expect(jobs.some((r) => r.job.command === 'add' && r.job.connector === 'fs-finance')).toBe(false);
  });
});
