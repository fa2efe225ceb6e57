/** The feed reads and writes touch only identity-slot keys, so they run unchanged on Redis Cluster. */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { addToList, listedAt, readList, removeFromList } from '../../../src/feeds/address-lists.js';
import { createGroupIndex } from '../../../src/feeds/group-index/index.js';
import { readAddressGroups, readGroupAddresses } from '../../../src/feeds/membership.js';
import { startFeedPusher, type FeedPushJob } from '../../../src/feeds/push.js';
import { defineFeed, feedsSettingsSchema } from '../../../src/feeds/settings.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { uniquePrefix } from '../../support/redis.js';
import { scanAll, useBackendClient, useLocalCluster } from '../state/state-test-kit.js';

const cluster = useLocalCluster();

describe('feeds on a Redis Cluster', () => {
  const client = useBackendClient('cluster', cluster);
  const prefix = uniquePrefix('feeds-cluster');

  afterAll(async () => {
    const redis = client();
    for (const key of await scanAll(redis, `${prefix}*`)) await redis.del(key);
  });

  it('edits lists atomically with their audit entry, reads groups, and pushes changes', async () => {
    const redis = client();
    const store = createSessionStore(redis, { prefix });
    const keys = store.layout;
    const now = Date.now();
    await addToList(redis, keys, 'blocked', '203.0.113.1', null);
    await addToList(redis, keys, 'blocked', '203.0.113.2', now + 60_000);
    expect(await readList(redis, keys, 'blocked', now)).toEqual(['203.0.113.2', '203.0.113.1']);
    expect(await listedAt(redis, keys, 'blocked', ['203.0.113.1', '203.0.113.3'], now)).toEqual([true, false]);
    expect(await removeFromList(redis, keys, 'blocked', '203.0.113.2')).toBe(true);
    expect(await redis.xlen(keys.auditStream)).toBe(3);

    const open = (user: string, ip: string, groups: string[]) =>
      store.open({ user, groups, ip, device: 'FGT1', method: 'firewall', eventTimeMs: now, timeoutType: 'idle', timeoutSeconds: 3600, openedBy: user }, now);
    await open('alice', '10.4.0.1', ['Finance']);
    await open('bob', '10.4.0.2', ['staff']);
    expect(await readGroupAddresses(redis, keys, ['finance', 'staff'], now, 1)).toEqual(
      new Map([
        ['finance', new Set(['10.4.0.1'])],
        ['staff', new Set(['10.4.0.2'])],
      ]),
    );
    expect(await readAddressGroups(redis, keys, ['10.4.0.1', '10.9.9.9'], now)).toEqual(
      new Map([
        ['10.4.0.1', new Set(['finance'])],
        ['10.9.9.9', new Set()],
      ]),
    );

    const jobs: FeedPushJob[] = [];
    const settings = feedsSettingsSchema.parse({ finance: { type: 'group', group: 'finance', push: { device: 'fgt', connector: 'fin' } } });
    const pusher = await startFeedPusher({
      redis,
      keys,
      feeds: Object.entries(settings).map(([name, s]) => defineFeed(name, s)),
      enqueue: async (job) => {
        jobs.push(job);
      },
      logger: pino({ level: 'silent' }),
      blockMs: 200,
    });
    try {
      await open('carol', '10.4.0.3', ['FINANCE']);
      await waitFor(() => jobs, (found) => found.length >= 2);
      expect(jobs.map((j) => [j.command, j.entries])).toEqual([
        ['snapshot', ['10.4.0.1']],
        ['add', ['10.4.0.3']],
      ]);
    } finally {
      await pusher.close();
    }
  });

  it('keeps a group index from the audit stream, and reloads it after entries were trimmed unread', async () => {
    const redis = client();
    const store = createSessionStore(redis, { prefix: `${prefix}index:` });
    const keys = store.layout;
    const now = Date.now();
    const open = (user: string, ip: string) =>
      store.open({ user, groups: ['Finance'], ip, device: 'FGT1', method: 'firewall', eventTimeMs: now, timeoutType: 'idle', timeoutSeconds: 3600, openedBy: user }, now);
    await open('alice', '10.6.0.1');
    const index = createGroupIndex({ redis, keys, groups: ['finance'], logger: pino({ level: 'silent' }), resyncMs: 0 });
    const finance = async (): Promise<string[]> => [...((await index.read(now)).get('finance')?.addresses ?? [])].sort();
    expect(await finance()).toEqual(['10.6.0.1']);
    await open('bob', '10.6.0.2');
    await store.close({ by: 'ip', ip: '10.6.0.1' }, now, 'logout');
    expect(await finance()).toEqual(['10.6.0.2']);
    expect(index.stats()).toMatchObject({ loads: 1, entriesRead: 2 });
    await open('carol', '10.6.0.3');
    await redis.xtrim(keys.auditStream, 'MAXLEN', 0);
    expect(await finance()).toEqual(['10.6.0.2', '10.6.0.3']);
    expect(index.stats().loads).toBe(2);
  });
});
