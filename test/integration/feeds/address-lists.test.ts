import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { fieldsToRecord } from '../../../src/client/stream-replies.js';
import { addToList, listedAt, nextListExpiry, readList, removeFromList } from '../../../src/feeds/address-lists.js';
import { defineFeed, feedsSettingsSchema } from '../../../src/feeds/settings.js';
import { createFeedSource } from '../../../src/feeds/source.js';
import { createStateKeys } from '../../../src/state/keys.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

const silent = pino({ level: 'silent' });

describe('address lists', () => {
  const redis = testRedisClient();
  const prefixes: string[] = [];
  const layout = () => {
    const prefix = uniquePrefix('lists');
    prefixes.push(prefix);
    return createStateKeys({ prefix });
  };

  afterAll(async () => {
    for (const prefix of prefixes) {
      const found = await redis.keys(`${prefix}*`);
      if (found.length > 0) await redis.del(...found);
    }
    await redis.quit();
  });

  it('adds, expires, removes, and audits each change in the same slot as the sessions', async () => {
    const keys = layout();
    const t = 1_800_000_000_000;
    await addToList(redis, keys, 'blocked', '203.0.113.7', t + 60_000, { nowMs: t, reason: 'ban-ip', actor: 'test' });
    await addToList(redis, keys, 'blocked', '198.51.100.1', null, { nowMs: t });
    await addToList(redis, keys, 'blocked', '2001:db8::/64', t + 10_000, { nowMs: t });
    expect(keys.addressList('blocked').startsWith(keys.sessionBase)).toBe(true);
    expect((await readList(redis, keys, 'blocked', t)).sort()).toEqual(['198.51.100.1', '2001:db8::/64', '203.0.113.7']);
    expect(await listedAt(redis, keys, 'blocked', ['203.0.113.7', '10.0.0.1', '198.51.100.1'], t)).toEqual([true, false, true]);
    expect(await nextListExpiry(redis, keys, 'blocked', t)).toBe(t + 10_000);

    // expired entries are left out and trimmed by the read
    expect((await readList(redis, keys, 'blocked', t + 10_000)).sort()).toEqual(['198.51.100.1', '203.0.113.7']);
    expect(await redis.zcard(keys.addressList('blocked'))).toBe(2);
    expect(await listedAt(redis, keys, 'blocked', ['203.0.113.7'], t + 60_000)).toEqual([false]);
    expect(await nextListExpiry(redis, keys, 'blocked', t + 60_000)).toBeUndefined();

    expect(await removeFromList(redis, keys, 'blocked', '198.51.100.1', { nowMs: t + 1 })).toBe(true);
    expect(await removeFromList(redis, keys, 'blocked', '198.51.100.1', { nowMs: t + 2 })).toBe(false);
    expect(await readList(redis, keys, 'blocked', t + 20_000)).toEqual(['203.0.113.7']);

    const audit = (await redis.xrange(keys.auditStream, '-', '+')).map(([, fields]) => fieldsToRecord(fields));
    expect(audit[0]).toEqual({
      'event.action': 'list.added',
      'event.reason': 'ban-ip',
      'event.time_ms': String(t),
      'list.name': 'blocked',
      'list.address': '203.0.113.7',
      'list.expires_ms': String(t + 60_000),
      'fortistream.actor': 'test',
    });
    expect(audit[1]).toMatchObject({ 'event.action': 'list.added', 'list.address': '198.51.100.1', 'list.expires_ms': 'never' });
    expect(audit.slice(3).map((e) => e['event.action'])).toEqual(['list.removed', 'list.removed']);
  });

  it('keeps the later expiry when an address is added again', async () => {
    const keys = layout();
    const t = 1_800_000_000_000;
    await addToList(redis, keys, 'blocked', '203.0.113.7', t + 3_600_000, { nowMs: t });
    await addToList(redis, keys, 'blocked', '203.0.113.7', t + 60_000, { nowMs: t });
    expect(Number(await redis.zscore(keys.addressList('blocked'), '203.0.113.7'))).toBe(t + 3_600_000);
    await addToList(redis, keys, 'blocked', '203.0.113.7', Number.POSITIVE_INFINITY, { nowMs: t });
    expect(await redis.zscore(keys.addressList('blocked'), '203.0.113.7')).toBe('inf');
  });

  it('refuses what is not an address', async () => {
    const keys = layout();
    await expect(addToList(redis, keys, 'blocked', 'evil\nline', null)).rejects.toThrow(/not an IP address/);
    await expect(addToList(redis, keys, 'blocked', '10.0.0.1', 1.5)).rejects.toThrow(/expiresMs/);
    expect(await redis.exists(keys.addressList('blocked'), keys.auditStream)).toBe(0);
  });

  it('computes group feeds from the sessions, caches them for cacheMs, and loads the sessions once for all group feeds', async () => {
    const keys = layout();
    const store = createSessionStore(redis, { prefix: keys.prefix });
    const start = Date.now();
    let clock = start;
    const settings = feedsSettingsSchema.parse({
      finance: { type: 'group', group: 'FINANCE' },
      staff: { type: 'group', group: 'staff' },
      blocked: { type: 'list', list: 'blocked' },
    });
    const feeds = Object.entries(settings).map(([name, s]) => defineFeed(name, s));
    const registry = new Registry();
    const source = createFeedSource({ redis, keys, feeds, logger: silent, registry, cacheMs: 1000, now: () => clock });
    const open = (user: string, ip: string, groups: string[], tunnelIp?: string) =>
      store.open(
        {
          user,
          groups,
          ip,
          ...(tunnelIp ? { tunnelIp } : {}),
          device: 'FGT1',
          method: tunnelIp ? 'sslvpn' : 'firewall',
          eventTimeMs: start,
          timeoutType: 'idle',
          timeoutSeconds: 3600,
          openedBy: `login-${user}`,
        },
        start,
      );
    await open('alice', '10.0.0.1', ['Finance', 'staff']);
    await open('bob', '198.51.100.9', ['finance'], '10.212.134.5');
    await open('carol', '10.0.0.3', ['staff']);
    await open('dave', '10.0.0.4', ['Finance "quoted"']);

    expect((await source.get('finance'))?.body.toString()).toBe('10.0.0.1\n10.212.134.5\n198.51.100.9\n');
    // staff is asked for the first time: computed now, from the group index finance's request
    // loaded (one read of the sessions for every group feed, then the audit stream)
    await open('frank', '10.0.0.6', ['staff']);
    expect((await source.get('staff'))?.addresses).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.6']);
    expect(source.indexStats()?.loads).toBe(1);
    expect((await source.get('blocked'))?.addresses).toEqual([]);
    expect(await source.get('nope')).toBeUndefined();
    expect(await source.get('__proto__')).toBeUndefined();

    await open('erin', '10.0.0.5', ['finance']);
    await addToList(redis, keys, 'blocked', '203.0.113.1', null);
    // within the cache period: the same bodies
    clock = start + 999;
    expect((await source.get('finance'))?.addresses).not.toContain('10.0.0.5');
    expect((await source.get('blocked'))?.addresses).toEqual([]);
    clock = start + 2500;
    expect((await source.get('finance'))?.addresses).toContain('10.0.0.5');
    expect((await source.get('blocked'))?.addresses).toEqual(['203.0.113.1']);
    expect((await source.get('staff'))?.addresses).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.6']);
    // compute() bypasses the cache
    await store.close({ by: 'ip', ip: '10.0.0.5' }, start + 1, 'logout');
    const finance = feeds.find((f) => f.name === 'finance');
    if (!finance) throw new Error('no finance feed');
    expect((await source.compute(finance)).addresses).not.toContain('10.0.0.5');
    expect(await registry.getSingleMetricAsString('fortistream_feed_entries')).toContain('fortistream_feed_entries{feed="finance"} 3');
  });
});
