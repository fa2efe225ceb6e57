import { describe, expect, it } from 'vitest';
import { createSessionReader } from '../../../src/state/session-reader.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, expectIndicesConsistent, login, readAudit, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();

describe.each(BACKENDS)('session-refresh on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);
  const setup = (options: { auditRefresh?: boolean } = {}) => {
    const prefix = uniquePrefix('refresh');
    return { store: createSessionStore(redis(), { prefix, ...options }), reader: createSessionReader(redis(), { prefix }) };
  };

  it('extends an idle-timeout session from the activity time and moves last_seen', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login(), T0);
    const refreshed = await store.refresh([{ ip: '10.1.2.3', timeMs: T0 + 120_000 }], T0 + 120_000);
    expect(refreshed).toEqual([{ id, expiresMs: T0 + 420_000 }]);
    expect(await reader.byId(id)).toMatchObject({ lastSeenMs: T0 + 120_000, expiresMs: T0 + 420_000 });
    expect(await redis().zscore(store.layout.expiry, id)).toBe(String(T0 + 420_000));
    await expectIndicesConsistent(redis(), store.layout);
    // Not audited by default (traffic would flood the audit stream).
    expect((await readAudit(redis(), store.layout)).map((e) => e['event.action'])).toEqual(['session.opened']);
  });

  it('keeps the expiry of a hard-timeout session but moves last_seen', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login({ timeoutType: 'hard' }), T0);
    const refreshed = await store.refresh([{ ip: '10.1.2.3', timeMs: T0 + 120_000 }], T0 + 120_000);
    expect(refreshed).toEqual([{ id, expiresMs: T0 + 300_000 }]);
    expect(await reader.byId(id)).toMatchObject({ lastSeenMs: T0 + 120_000, expiresMs: T0 + 300_000 });
    expect(await redis().zscore(store.layout.expiry, id)).toBe(String(T0 + 300_000));
  });

  it('never moves last_seen or expiry backwards for an older event', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login(), T0);
    await store.refresh([{ ip: '10.1.2.3', timeMs: T0 + 200_000 }], T0 + 200_000);
    expect(await store.refresh([{ ip: '10.1.2.3', timeMs: T0 + 100_000 }], T0 + 200_000)).toEqual([]);
    expect(await reader.byId(id)).toMatchObject({ lastSeenMs: T0 + 200_000, expiresMs: T0 + 500_000 });
  });

  it('combines a batch: one refresh per address with the latest time', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login(), T0);
    const times = [T0 + 50_000, T0 + 90_000, T0 + 70_000, T0 + 10_000];
    const refreshed = await store.refresh(times.map((timeMs) => ({ ip: '10.1.2.3', timeMs })), T0 + 90_000);
    expect(refreshed).toEqual([{ id, expiresMs: T0 + 390_000 }]);
    expect(await reader.byId(id)).toMatchObject({ lastSeenMs: T0 + 90_000 });
  });

  it('filters by device and user, and reaches SSL-VPN sessions by tunnel IP', async () => {
    const { store } = setup();
    const vpn = await store.open(login({ method: 'sslvpn', ip: '198.51.100.7', tunnelIp: '10.212.134.200' }), T0);
    const other = await store.open(login({ device: 'FGT-B' }), T0);
    expect(await store.refresh([{ ip: '10.212.134.200', user: 'ALICE', timeMs: T0 + 1000 }], T0 + 1000)).toEqual([
      { id: vpn.id, expiresMs: T0 + 301_000 },
    ]);
    expect(await store.refresh([{ ip: '10.1.2.3', user: 'bob', timeMs: T0 + 2000 }], T0 + 2000)).toEqual([]);
    expect(await store.refresh([{ ip: '10.1.2.3', device: 'FGT-C', timeMs: T0 + 2000 }], T0 + 2000)).toEqual([]);
    expect(await store.refresh([{ ip: '10.1.2.3', device: 'FGT-B', timeMs: T0 + 2000 }], T0 + 2000)).toEqual([
      { id: other.id, expiresMs: T0 + 302_000 },
    ]);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('ignores activity from addresses without a session, in the same batch as one with', async () => {
    const { store } = setup();
    const { id } = await store.open(login(), T0);
    const activity = Array.from({ length: 50 }, (_, i) => ({ ip: `192.0.2.${i}`, timeMs: T0 + 1000 }));
    expect(await store.refresh([...activity, { ip: '10.1.2.3', timeMs: T0 + 1000 }], T0 + 1000)).toEqual([
      { id, expiresMs: T0 + 301_000 },
    ]);
    expect(await store.refresh(activity, T0 + 2000)).toEqual([]);
    await expectIndicesConsistent(redis(), store.layout);
  });

  it('does not revive a session that is already past its expiry', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login(), T0);
    expect(await store.refresh([{ ip: '10.1.2.3', timeMs: T0 + 301_000 }], T0 + 301_000)).toEqual([]);
    expect(await reader.byId(id)).toMatchObject({ expiresMs: T0 + 300_000, lastSeenMs: T0 });
  });

  it('extends the safety TTL along with the expiry', async () => {
    const prefix = uniquePrefix('refresh');
    const store = createSessionStore(redis(), { prefix, safetyGraceMs: 1000 });
    const { id } = await store.open(login(), T0);
    const before = await redis().pttl(store.layout.session(id));
    await store.refresh([{ ip: '10.1.2.3', timeMs: T0 + 250_000 }], T0);
    const after = await redis().pttl(store.layout.session(id));
    expect(after - before).toBeGreaterThan(240_000);
    expect(await redis().pttl(store.layout.ipIndex)).toBeGreaterThan(540_000);
  });

  it('audits session.refreshed when asked to', async () => {
    const { store } = setup({ auditRefresh: true });
    const { id } = await store.open(login(), T0);
    await store.refresh([{ ip: '10.1.2.3', timeMs: T0 + 1000 }], T0 + 1000);
    const audit = await readAudit(redis(), store.layout);
    expect(audit[1]).toMatchObject({
      'event.action': 'session.refreshed',
      'event.time_ms': String(T0 + 1000),
      'session.id': id,
      'session.expires_ms': String(T0 + 301_000),
    });
  });
});
