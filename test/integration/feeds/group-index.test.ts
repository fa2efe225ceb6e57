/**
 * The group index (src/feeds/group-index/) against a real Redis: it follows the session scripts'
 * audit entries without reading the sessions again, sees sessions that existed before it started,
 * reloads when entries were trimmed before it read them, and a periodic resync repairs (and counts)
 * what it could not have known. The full read (`readGroupAddresses`) is the oracle.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createGroupIndex, type GroupIndex } from '../../../src/feeds/group-index/index.js';
import { readGroupAddresses } from '../../../src/feeds/membership.js';
import { createStateKeys, type StateKeys } from '../../../src/state/keys.js';
import { STORED_SESSION_FIELDS, type SessionMethod, type SessionOpenInput } from '../../../src/state/session-model.js';
import { createSessionStore, type SessionStore } from '../../../src/state/sessions.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

const silent = pino({ level: 'silent' });
const GROUPS = ['Finance', 'staff', 'vpn'];

/** Each group's addresses as sorted arrays, for comparing. */
async function indexed(index: GroupIndex, nowMs: number): Promise<Record<string, string[]>> {
  const read = await index.read(nowMs);
  return Object.fromEntries([...read].map(([group, members]) => [group, [...members.addresses].sort()]));
}

async function fullRead(redis: ReturnType<typeof testRedisClient>, keys: StateKeys, nowMs: number): Promise<Record<string, string[]>> {
  const read = await readGroupAddresses(redis, keys, GROUPS, nowMs);
  return Object.fromEntries([...read].map(([group, addresses]) => [group, [...addresses].sort()]));
}

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('group index', () => {
  const redis = testRedisClient();
  const prefixes: string[] = [];
  const setup = (): { keys: StateKeys; store: SessionStore } => {
    const prefix = uniquePrefix('gidx');
    prefixes.push(prefix);
    return { keys: createStateKeys({ prefix }), store: createSessionStore(redis, { prefix }) };
  };
  const indexOf = (keys: StateKeys, options: { registry?: Registry; resyncMs?: number; now?: () => number; pageSize?: number } = {}): GroupIndex =>
    createGroupIndex({ redis, keys, groups: GROUPS, logger: silent, resyncMs: 0, ...options });

  afterAll(async () => {
    for (const prefix of prefixes) {
      const found = await redis.keys(`${prefix}*`);
      if (found.length > 0) await redis.del(...found);
    }
    await redis.quit();
  });

  const login = (store: SessionStore, at: number, input: Partial<SessionOpenInput> & { user: string; ip: string }) =>
    store.open({ groups: ['Finance'], device: 'FGT1', method: 'firewall', eventTimeMs: at, timeoutType: 'idle', timeoutSeconds: 3600, openedBy: `login-${input.user}-${at}`, ...input }, at);

  it('follows logins, logouts, replacements, expiry and revocation from the audit stream without reading the sessions again', async () => {
    const { keys, store } = setup();
    const index = indexOf(keys);
    const t = Date.now();
    expect(await indexed(index, t)).toEqual({ finance: [], staff: [], vpn: [] });
    expect(index.stats().loads).toBe(1);

    // alice and carol share an address (their external ids keep one from superseding the other)
    const alice = await login(store, t, { user: 'alice', ip: '10.1.0.1', groups: ['FINANCE', 'staff'], externalId: 'a' });
    await login(store, t, { user: 'bob', ip: '198.51.100.2', tunnelIp: '10.212.0.2', method: 'sslvpn', groups: ['finance'] });
    const carol = await login(store, t, { user: 'carol', ip: '10.1.0.1', groups: ['Finance'], externalId: 'c' });
    await login(store, t, { user: 'dave', ip: '10.1.0.4', groups: ['staff'], timeoutSeconds: 60 });
    await login(store, t, { user: 'zed', ip: '10.1.0.9', groups: ['other'] });
    expect(await indexed(index, t)).toEqual({ finance: ['10.1.0.1', '10.212.0.2', '198.51.100.2'], staff: ['10.1.0.1', '10.1.0.4'], vpn: [] });
    const before = index.stats();
    expect(before.entriesRead).toBe(5);
    // only sessions in an indexed group are kept
    expect(before.tracked).toBe(4);

    // two finance sessions hold 10.1.0.1: it stays until the last one ends
    await store.close({ by: 'id', id: alice.id }, t, 'logout');
    expect(await indexed(index, t)).toEqual({ finance: ['10.1.0.1', '10.212.0.2', '198.51.100.2'], staff: ['10.1.0.4'], vpn: [] });
    await store.close({ by: 'id', id: carol.id }, t, 'logout');
    expect(await indexed(index, t)).toEqual({ finance: ['10.212.0.2', '198.51.100.2'], staff: ['10.1.0.4'], vpn: [] });

    // a login that supersedes bob's session (same device, method, tunnel address) with other groups
    await login(store, t + 1, { user: 'bob', ip: '198.51.100.3', tunnelIp: '10.212.0.2', method: 'sslvpn', groups: ['vpn'] });
    expect(await indexed(index, t + 1)).toEqual({ finance: [], staff: ['10.1.0.4'], vpn: ['10.212.0.2', '198.51.100.3'] });

    expect((await store.sweep(t + 120_000)).expired.map((s) => s.user)).toEqual(['dave']);
    expect(await indexed(index, t + 1)).toEqual({ finance: [], staff: [], vpn: ['10.212.0.2', '198.51.100.3'] });

    await store.revoke({ by: 'user', user: 'BOB' }, t + 2, 'incident', 'test');
    expect(await indexed(index, t + 2)).toEqual({ finance: [], staff: [], vpn: [] });
    expect(index.stats().loads).toBe(1);
    expect(await indexed(index, t + 2)).toEqual(await fullRead(redis, keys, t + 2));
  });

  it('sees the sessions that existed when it started, and a second index agrees with the first', async () => {
    const { keys, store } = setup();
    const t = Date.now();
    await login(store, t, { user: 'alice', ip: '10.2.0.1', groups: ['Finance'] });
    await login(store, t, { user: 'bob', ip: '10.2.0.2', groups: ['vpn', 'STAFF'] });
    const first = indexOf(keys, { pageSize: 1 });
    expect(await indexed(first, t)).toEqual({ finance: ['10.2.0.1'], staff: ['10.2.0.2'], vpn: ['10.2.0.2'] });
    await login(store, t, { user: 'carol', ip: '10.2.0.3', groups: ['finance'] });
    await store.close({ by: 'ip', ip: '10.2.0.1' }, t, 'logout');
    // another worker, or this one after a restart
    const second = indexOf(keys);
    const expected = { finance: ['10.2.0.3'], staff: ['10.2.0.2'], vpn: ['10.2.0.2'] };
    expect(await indexed(second, t)).toEqual(expected);
    expect(await indexed(first, t)).toEqual(expected);
    expect([first.stats().loads, second.stats().loads]).toEqual([1, 1]);
  });

  it('leaves out due sessions until swept, and keeps an idle session whose expiry moved without an audit entry', async () => {
    const { keys, store } = setup();
    const index = indexOf(keys);
    const t = Date.now();
    await login(store, t, { user: 'idle', ip: '10.3.0.1', timeoutSeconds: 60 });
    await login(store, t, { user: 'hard', ip: '10.3.0.2', timeoutType: 'hard', timeoutSeconds: 60 });
    expect((await indexed(index, t + 30_000)).finance).toEqual(['10.3.0.1', '10.3.0.2']);
    // activity at +50 s moves the idle session's expiry to +110 s; nothing is audited (audit_refresh off)
    expect(await store.refresh([{ ip: '10.3.0.1', timeMs: t + 50_000 }, { ip: '10.3.0.2', timeMs: t + 50_000 }], t + 50_000)).toHaveLength(2);
    const entries = index.stats().entriesRead;
    expect((await indexed(index, t + 70_000)).finance).toEqual(['10.3.0.1']);
    expect(index.stats().entriesRead).toBe(entries);
    expect(index.stats().expiryChecks).toBe(2);
    expect((await indexed(index, t + 120_000)).finance).toEqual([]);
    expect(await indexed(index, t + 120_000)).toEqual(await fullRead(redis, keys, t + 120_000));
    // due by the feed's clock but not by the writer's (event time lags, e.g. a replay): activity
    // still moves the expiry, and the session is back
    expect(await store.refresh([{ ip: '10.3.0.1', timeMs: t + 100_000 }], t + 100_000)).toHaveLength(1);
    expect((await indexed(index, t + 120_000)).finance).toEqual(['10.3.0.1']);
    expect(await indexed(index, t + 120_000)).toEqual(await fullRead(redis, keys, t + 120_000));
    expect((await store.sweep(t + 200_000)).expired).toHaveLength(2);
    expect((await indexed(index, t + 120_000)).finance).toEqual([]);
    expect(index.stats().tracked).toBe(0);
  });

  it('reloads when audit entries were trimmed before it read them', async () => {
    const { keys, store } = setup();
    const registry = new Registry();
    const index = indexOf(keys, { registry });
    const t = Date.now();
    await login(store, t, { user: 'alice', ip: '10.4.0.1' });
    expect((await indexed(index, t)).finance).toEqual(['10.4.0.1']);
    await login(store, t, { user: 'bob', ip: '10.4.0.2' });
    await store.close({ by: 'ip', ip: '10.4.0.1' }, t, 'logout');
    await redis.xtrim(keys.auditStream, 'MAXLEN', 0);
    expect((await indexed(index, t)).finance).toEqual(['10.4.0.2']);
    expect(index.stats().loads).toBe(2);
    expect(await registry.getSingleMetricAsString('fortistream_feed_index_loads_total')).toContain('fortistream_feed_index_loads_total{reason="gap"} 1');
    // and it goes on following from there
    await login(store, t, { user: 'carol', ip: '10.4.0.3' });
    expect((await indexed(index, t)).finance).toEqual(['10.4.0.2', '10.4.0.3']);
    // the stream deleted outright (its entries went unread): reload as well
    await login(store, t, { user: 'dave', ip: '10.4.0.4' });
    await redis.del(keys.auditStream);
    expect((await indexed(index, t)).finance).toEqual(['10.4.0.2', '10.4.0.3', '10.4.0.4']);
    expect(index.stats().loads).toBe(3);
  });

  it('repairs and counts what it missed at the periodic resync, without holding up reads', async () => {
    const { keys, store } = setup();
    const registry = new Registry();
    let clock = Date.now();
    const t = clock;
    const index = indexOf(keys, { registry, resyncMs: 60_000, now: () => clock });
    await login(store, t, { user: 'alice', ip: '10.5.0.1' });
    expect((await indexed(index, t)).finance).toEqual(['10.5.0.1']);
    // a session written behind the scripts' back: no audit entry, so the index cannot know it
    const stored = (long: string): string => STORED_SESSION_FIELDS[long] ?? long;
    await redis.hset(keys.session('hidden'), { [stored('user')]: 'mallory', [stored('groups')]: '["Finance"]', [stored('ip')]: '10.5.0.66', [stored('expires_ms')]: String(t + 3_600_000) });
    await redis.zadd(keys.expiry, t + 3_600_000, 'hidden');
    expect((await indexed(index, t)).finance).toEqual(['10.5.0.1']);

    clock += 60_000;
    // this read starts the resync in the background and answers from the current state
    expect((await indexed(index, t)).finance).toEqual(['10.5.0.1']);
    await login(store, t, { user: 'bob', ip: '10.5.0.2' });
    const repaired = await waitFor(
      () => indexed(index, t),
      (read) => read.finance?.includes('10.5.0.66') === true,
    );
    expect(repaired.finance).toEqual(['10.5.0.1', '10.5.0.2', '10.5.0.66']);
    expect(index.stats().loads).toBe(2);
    expect(await registry.getSingleMetricAsString('fortistream_feed_index_drift_total')).toContain('fortistream_feed_index_drift_total 1');
    await store.close({ by: 'ip', ip: '10.5.0.1' }, t, 'logout');
    expect((await indexed(index, t)).finance).toEqual(['10.5.0.2', '10.5.0.66']);
  });

  it('shares one update among concurrent reads', async () => {
    const { keys, store } = setup();
    const t = Date.now();
    await login(store, t, { user: 'alice', ip: '10.6.0.1' });
    const index = indexOf(keys);
    const reads = await Promise.all([1, 2, 3, 4].map(() => indexed(index, t)));
    for (const read of reads) expect(read.finance).toEqual(['10.6.0.1']);
    expect(index.stats().loads).toBe(1);
  });

  it('agrees with a full read of the sessions after every step of a random sequence of session changes', async () => {
    const { keys, store } = setup();
    const next = random(20261205);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const addresses = ['10.7.0.1', '10.7.0.2', '10.7.0.3', '10.7.0.4', '10.7.0.5'];
    const tunnels = ['10.212.7.1', '10.212.7.2'];
    const users = ['ann', 'Ben', 'cat', 'dan'];
    const groupChoices = [['Finance'], ['STAFF'], ['finance', 'staff'], ['vpn'], ['other'], []];
    const methods: SessionMethod[] = ['firewall', 'sslvpn', 'fsso'];
    const start = Date.now();
    let clock = start;
    // page size 2 makes the catch-up loop over several XREADs
    const early = indexOf(keys, { pageSize: 2 });
    let late: GroupIndex | undefined;
    let nonEmpty = 0;
    for (let step = 0; step < 250; step += 1) {
      clock += Math.floor(next() * 20_000);
      const roll = next();
      if (roll < 0.45) {
        const method = pick(methods);
        await store.open(
          {
            user: pick(users),
            groups: pick(groupChoices),
            ip: pick(addresses),
            ...(method === 'sslvpn' ? { tunnelIp: pick(tunnels) } : {}),
            device: pick(['FGT1', 'FGT2']),
            method,
            eventTimeMs: clock,
            timeoutType: next() < 0.5 ? 'idle' : 'hard',
            timeoutSeconds: 30 + Math.floor(next() * 120),
            openedBy: `step-${step}`,
          },
          clock,
        );
      } else if (roll < 0.6) {
        await store.close({ by: 'ip', ip: pick(addresses) }, clock, 'logout');
      } else if (roll < 0.7) {
        await store.revoke({ by: 'user', user: pick(users) }, clock, 'test', 'test');
      } else if (roll < 0.85) {
        await store.refresh([{ ip: pick([...addresses, ...tunnels]), timeMs: clock }], clock);
      } else {
        await store.sweep(clock);
      }
      if (step === 100) late = indexOf(keys);
      const expected = await fullRead(redis, keys, clock);
      if (Object.values(expected).some((list) => list.length > 0)) nonEmpty += 1;
      expect(await indexed(early, clock), `step ${step}`).toEqual(expected);
      if (late) expect(await indexed(late, clock), `step ${step} (late index)`).toEqual(expected);
    }
    // the sequence exercised what it is meant to: feeds with members, and expiries read from Redis
    expect(nonEmpty).toBeGreaterThan(150);
    expect(early.stats().expiryChecks).toBeGreaterThan(20);
    expect(early.stats().loads).toBe(1);
    expect(late?.stats().loads).toBe(1);
  });
});
