import { describe, expect, it } from 'vitest';
import { checkScriptReply, StateScriptError, StateScriptErrorCode } from '../../../src/state/errors.js';
import { createSessionReader } from '../../../src/state/session-reader.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, expectIndicesConsistent, login, readAudit, scanAll, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();

describe.each(BACKENDS)('session-open on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);
  const setup = () => {
    const prefix = uniquePrefix('open');
    return { store: createSessionStore(redis(), { prefix }), reader: createSessionReader(redis(), { prefix }) };
  };

  it('creates a session with every field, all indices, expiry and an audit entry', async () => {
    const { store, reader } = setup();
    const result = await store.open(login({ externalId: 'sn-1' }), T0 + 5);
    expect(result.status).toBe('opened');
    expect(result.expiresMs).toBe(T0 + 300_000);
    const session = await reader.byId(result.id);
    expect(session).toEqual({
      id: result.id,
      user: 'alice',
      groups: ['staff', 'vpn-users'],
      ip: '10.1.2.3',
      tunnelIp: undefined,
      device: 'FGT60E0000000001',
      vdom: 'root',
      method: 'firewall',
      createdMs: T0,
      lastSeenMs: T0,
      expiresMs: T0 + 300_000,
      timeoutType: 'idle',
      timeoutSeconds: 300,
      openedBy: '0102043008',
      externalId: 'sn-1',
    });
    expect((await reader.byIp('10.1.2.3')).map((s) => s.id)).toEqual([result.id]);
    expect((await reader.byUser('ALICE')).map((s) => s.id)).toEqual([result.id]);
    expect((await reader.byDevice('FGT60E0000000001')).map((s) => s.id)).toEqual([result.id]);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([result.id]);
    const audit = await readAudit(redis(), store.layout);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      'event.action': 'session.opened',
      'event.reason': 'opened',
      'event.time_ms': String(T0),
      'session.id': result.id,
      'session.user': 'alice',
      'session.ip': '10.1.2.3',
      'session.groups': '["staff","vpn-users"]',
    });
  });

  it('keeps every identity key and the audit stream in one slot (no CROSSSLOT on a cluster)', async () => {
    const { store } = setup();
    const { id } = await store.open(login({ tunnelIp: '10.212.134.9', externalId: 'x' }), T0);
    const layout = store.layout;
    const keys = [layout.auditStream, layout.session(id), layout.ipIndex, layout.userIndex,
      layout.deviceIndex('FGT60E0000000001'), layout.externalIdIndex('FGT60E0000000001'), layout.expiry];
    const slots = new Set<number>();
    for (const key of keys) slots.add(Number(await redis().call('CLUSTER', 'KEYSLOT', key).catch(() => -1)));
    if (backend === 'cluster') expect(slots.size).toBe(1);
    expect(await redis().exists(...keys)).toBe(keys.length);
  });

  it('sets a Redis TTL of expiry + grace on the hash and indices (safety net)', async () => {
    const prefix = uniquePrefix('open');
    const store = createSessionStore(redis(), { prefix, safetyGraceMs: 60_000 });
    const { id } = await store.open(login(), T0 + 100_000);
    // expires at T0 + 300 s, now is T0 + 100 s: 200 s left + 60 s grace.
    const ttl = await redis().pttl(store.layout.session(id));
    expect(ttl).toBeGreaterThan(255_000);
    expect(ttl).toBeLessThanOrEqual(260_000);
    for (const key of [store.layout.ipIndex, store.layout.userIndex, store.layout.expiry]) {
      expect(await redis().pttl(key)).toBeGreaterThan(255_000);
    }
  });

  it('indexes an SSL-VPN session by remote IP and tunnel IP', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login({ method: 'sslvpn', ip: '198.51.100.7', tunnelIp: '10.212.134.200' }), T0);
    expect((await reader.byIp('198.51.100.7')).map((s) => s.id)).toEqual([id]);
    expect((await reader.byIp('10.212.134.200')).map((s) => s.id)).toEqual([id]);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('is idempotent: the same event replayed opens nothing new', async () => {
    const { store } = setup();
    const first = await store.open(login(), T0);
    const again = await store.open(login(), T0 + 1000);
    expect(again).toEqual({ status: 'duplicate', id: first.id, expiresMs: first.expiresMs, replacedIds: [] });
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([first.id]);
    expect(await readAudit(redis(), store.layout)).toHaveLength(1);
  });

  it('replaces the session of the same (device, method, IP) on re-login and removes stale index entries', async () => {
    const { store, reader } = setup();
    const first = await store.open(login({ user: 'alice' }), T0);
    const second = await store.open(login({ user: 'bob', eventTimeMs: T0 + 60_000, groups: [] }), T0 + 60_000);
    expect(second.status).toBe('replaced');
    expect(second.replacedIds).toEqual([first.id]);
    expect(await reader.byUser('alice')).toEqual([]);
    expect((await reader.byIp('10.1.2.3')).map((s) => s.user)).toEqual(['bob']);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([second.id]);
    const audit = await readAudit(redis(), store.layout);
    expect(audit.map((e) => [e['event.action'], e['event.reason'], e['session.id']])).toEqual([
      ['session.opened', 'opened', first.id],
      ['session.closed', 'replaced', first.id],
      ['session.opened', 'replaced', second.id],
    ]);
    expect(audit[1]?.['session.replaced_by']).toBe(second.id);
  });

  it('keeps sessions of other devices or methods on the same IP', async () => {
    const { store, reader } = setup();
    await store.open(login(), T0);
    await store.open(login({ device: 'FGT-B' }), T0 + 1);
    await store.open(login({ method: 'fsso', openedBy: '0102043014' }), T0 + 2);
    expect(await reader.byIp('10.1.2.3')).toHaveLength(3);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('replaces by external id (admin sn) and keeps two admin sessions from one IP apart', async () => {
    const { store, reader } = setup();
    const admin = { method: 'admin' as const, user: 'admin', timeoutType: 'hard' as const, openedBy: '0100032001' };
    const a = await store.open(login({ ...admin, externalId: '1700000001' }), T0);
    const b = await store.open(login({ ...admin, externalId: '1700000002', eventTimeMs: T0 + 10 }), T0 + 10);
    expect(b.status).toBe('opened');
    expect(await reader.byUser('admin')).toHaveLength(2);
    const again = await store.open(login({ ...admin, externalId: '1700000001', eventTimeMs: T0 + 20 }), T0 + 20);
    expect(again).toMatchObject({ status: 'replaced', replacedIds: [a.id] });
    expect((await reader.byUser('admin')).map((s) => s.id).sort()).toEqual([b.id, again.id].sort());
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('never lets an older login replace a newer session (out-of-order delivery)', async () => {
    const { store, reader } = setup();
    const newer = await store.open(login({ user: 'bob', eventTimeMs: T0 + 60_000 }), T0 + 60_000);
    const older = await store.open(login({ user: 'alice', eventTimeMs: T0 }), T0 + 60_000);
    expect(older).toMatchObject({ status: 'stale', replacedIds: [newer.id] });
    expect((await reader.byIp('10.1.2.3')).map((s) => s.user)).toEqual(['bob']);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('does not open a session that would already be expired', async () => {
    const { store, reader } = setup();
    const result = await store.open(login({ timeoutSeconds: 60 }), T0 + 60_000);
    expect(result.status).toBe('expired');
    expect(await reader.list()).toEqual([]);
    expect(await readAudit(redis(), store.layout)).toEqual([]);
  });

  it('stays within 1 KB of Redis memory per session (hash + index entries)', async () => {
    const { store } = setup();
    const count = 300;
    const inputs = Array.from({ length: count }, (_, i) =>
      login({
        user: `user${String(i).padStart(5, '0')}@corp.example`,
        ip: `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`,
        groups: ['staff', 'vpn-users'],
        method: i % 2 === 0 ? 'sslvpn' : 'firewall',
        tunnelIp: i % 2 === 0 ? `10.212.${(i >> 8) & 255}.${i & 255}` : undefined,
        openedBy: i % 2 === 0 ? '0101039947' : '0102043008',
        externalId: i % 2 === 0 ? String(i) : undefined,
      }),
    );
    await store.openMany(inputs, T0);
    const layout = store.layout;
    await redis().del(layout.auditStream); // the audit stream is capped, not per-session state
    const keys = await scanAll(redis(), `${layout.sessionBase.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`);
    let bytes = 0;
    for (const key of keys) bytes += Number(await redis().call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const perSession = bytes / count;
    expect(perSession).toBeLessThanOrEqual(1024);
    expect(perSession).toBeGreaterThan(100); // it did measure something
  });

  it('maps script error codes to typed errors', async () => {
    const { store } = setup();
    const base = store.layout;
    const reply = redis().fortistreamSessionOpen(base.expiry, base.auditStream, base.sessionBase, 'not-a-number');
    await expect(reply).resolves.toBe(StateScriptErrorCode.BadArgument);
    expect(() => checkScriptReply('session-open', StateScriptErrorCode.BadTimeoutType)).toThrow(StateScriptError);
    expect(() => checkScriptReply('session-open', -99)).toThrow(/unknown error code/);
    await expect(store.open(login({ timeoutSeconds: 0 }), T0)).rejects.toThrow(RangeError);
  });
});
