import { describe, expect, it } from 'vitest';
import { createSessionReader } from '../../../src/state/session-reader.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, expectIndicesConsistent, login, readAudit, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();

describe.each(BACKENDS)('session-revoke on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);
  const setup = () => {
    const prefix = uniquePrefix('revoke');
    return { store: createSessionStore(redis(), { prefix }), reader: createSessionReader(redis(), { prefix }) };
  };

  it('revokes every session of a user (any case), returns them and audits each', async () => {
    const { store, reader } = setup();
    const a = await store.open(login({ ip: '10.0.0.1' }), T0);
    const b = await store.open(login({ ip: '10.0.0.2', user: 'Alice', method: 'sslvpn', tunnelIp: '10.212.0.2' }), T0);
    const bob = await store.open(login({ ip: '10.0.0.3', user: 'bob' }), T0);
    const revoked = await store.revoke({ by: 'user', user: 'ALICE' }, T0 + 1000, 'impossible travel', 'soc:jane');
    expect(revoked.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    expect(await reader.byUser('alice')).toEqual([]);
    expect(await reader.byIp('10.212.0.2')).toEqual([]);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([bob.id]);
    const revokedAudit = (await readAudit(redis(), store.layout)).filter((e) => e['event.action'] === 'session.revoked');
    expect(revokedAudit).toHaveLength(2);
    expect(revokedAudit[0]).toMatchObject({
      'event.reason': 'impossible travel',
      'event.time_ms': String(T0 + 1000),
      'fortistream.actor': 'soc:jane',
    });
  });

  it('revokes every session on an IP (source or tunnel), across devices and methods', async () => {
    const { store, reader } = setup();
    const a = await store.open(login(), T0);
    const b = await store.open(login({ device: 'FGT-B', user: 'bob' }), T0);
    const c = await store.open(login({ method: 'sslvpn', ip: '198.51.100.1', tunnelIp: '10.1.2.3', user: 'carol' }), T0);
    const d = await store.open(login({ ip: '10.9.9.9', user: 'dave' }), T0);
    const revoked = await store.revoke({ by: 'ip', ip: '10.1.2.3' }, T0 + 1, 'ban', 'rule:deny-burst');
    expect(revoked.map((s) => s.id).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(await reader.byIp('198.51.100.1')).toEqual([]);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([d.id]);
  });

  it('returns nothing and audits nothing when nothing matches', async () => {
    const { store } = setup();
    expect(await store.revoke({ by: 'user', user: 'nobody' }, T0, 'x', 'y')).toEqual([]);
    expect(await readAudit(redis(), store.layout)).toEqual([]);
  });
});
