import { describe, expect, it } from 'vitest';
import { createSessionReader } from '../../../src/state/session-reader.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, expectIndicesConsistent, login, readAudit, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();

describe.each(BACKENDS)('session-close on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);
  const setup = () => {
    const prefix = uniquePrefix('close');
    return { store: createSessionStore(redis(), { prefix }), reader: createSessionReader(redis(), { prefix }) };
  };

  it('closes by id, removes every index entry and audits session.closed', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login({ tunnelIp: '10.212.134.5', externalId: 'sn-9' }), T0);
    const keep = await store.open(login({ user: 'bob', ip: '10.9.9.9' }), T0);
    const closed = await store.close({ by: 'id', id }, T0 + 1000, 'logout');
    expect(closed.map((s) => s.id)).toEqual([id]);
    expect(await reader.byIp('10.1.2.3')).toEqual([]);
    expect(await reader.byIp('10.212.134.5')).toEqual([]);
    expect(await reader.byUser('alice')).toEqual([]);
    expect((await reader.byDevice('FGT60E0000000001')).map((s) => s.id)).toEqual([keep.id]);
    expect(await redis().exists(store.layout.session(id))).toBe(0);
    expect(await redis().hlen(store.layout.externalIdIndex('FGT60E0000000001'))).toBe(0);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([keep.id]);
    const audit = await readAudit(redis(), store.layout);
    expect(audit.at(-1)).toMatchObject({
      'event.action': 'session.closed',
      'event.reason': 'logout',
      'event.time_ms': String(T0 + 1000),
      'session.id': id,
      'session.user': 'alice',
    });
  });

  it('closes by IP and method (firewall auth logout, FSSO logoff), leaving other methods', async () => {
    const { store, reader } = setup();
    const fw = await store.open(login(), T0);
    const fsso = await store.open(login({ method: 'fsso', openedBy: '0102043014' }), T0);
    const closed = await store.close({ by: 'ip', ip: '10.1.2.3', method: 'fsso' }, T0 + 5, 'FSSO-logoff');
    expect(closed.map((s) => s.id)).toEqual([fsso.id]);
    expect((await reader.byIp('10.1.2.3')).map((s) => s.id)).toEqual([fw.id]);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('closes an SSL-VPN session by tunnel IP on tunnel-down', async () => {
    const { store, reader } = setup();
    const vpn = { method: 'sslvpn' as const, ip: '198.51.100.7', openedBy: '0101039947' };
    const a = await store.open(login({ ...vpn, tunnelIp: '10.212.134.200' }), T0);
    const b = await store.open(login({ ...vpn, user: 'bob', tunnelIp: '10.212.134.201' }), T0);
    const closed = await store.close({ by: 'ip', ip: '10.212.134.200', method: 'sslvpn' }, T0 + 5, 'tunnel-down');
    expect(closed.map((s) => s.id)).toEqual([a.id]);
    expect((await reader.byIp('198.51.100.7')).map((s) => s.id)).toEqual([b.id]);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('closes by external id (admin logout correlated by sn) on the right device only', async () => {
    const { store, reader } = setup();
    const admin = { method: 'admin' as const, user: 'admin', externalId: '1700000001' };
    const a = await store.open(login(admin), T0);
    const b = await store.open(login({ ...admin, device: 'FGT-B' }), T0);
    const closed = await store.close({ by: 'external', device: 'FGT60E0000000001', method: 'admin', externalId: '1700000001' }, T0 + 5, 'exit');
    expect(closed.map((s) => s.id)).toEqual([a.id]);
    expect((await reader.byUser('admin')).map((s) => s.id)).toEqual([b.id]);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('ignores a late logout older than the session it would hit, and closing twice', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login({ eventTimeMs: T0 + 10_000 }), T0 + 10_000);
    expect(await store.close({ by: 'ip', ip: '10.1.2.3' }, T0 + 5_000, 'logout')).toEqual([]);
    expect((await reader.byIp('10.1.2.3')).map((s) => s.id)).toEqual([id]);
    expect(await store.close({ by: 'id', id }, T0 + 20_000, 'logout')).toHaveLength(1);
    expect(await store.close({ by: 'id', id }, T0 + 20_000, 'logout')).toEqual([]);
    const actions = (await readAudit(redis(), store.layout)).map((e) => e['event.action']);
    expect(actions).toEqual(['session.opened', 'session.closed']);
  });

  it('keeps the replacing session when the old external id is closed late', async () => {
    const { store, reader } = setup();
    const admin = { method: 'admin' as const, user: 'admin', externalId: 'sn-1' };
    await store.open(login(admin), T0);
    const newer = await store.open(login({ ...admin, eventTimeMs: T0 + 100 }), T0 + 100);
    expect(await store.close({ by: 'external', device: 'FGT60E0000000001', method: 'admin', externalId: 'sn-1' }, T0 + 50, 'exit')).toEqual([]);
    expect((await reader.byUser('admin')).map((s) => s.id)).toEqual([newer.id]);
    await expectIndicesConsistent(redis(), store.layout);
  });
});
