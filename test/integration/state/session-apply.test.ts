import { describe, expect, it } from 'vitest';
import { StateScriptErrorCode } from '../../../src/state/errors.js';
import { createSessionReader } from '../../../src/state/session-reader.js';
import { deriveSessionId } from '../../../src/state/session-model.js';
import { createSessionStore, type SessionChange } from '../../../src/state/sessions.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, expectIndicesConsistent, login, readAudit, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();

/** A batch exercising replace by address, replace by external id, tunnel IPs and closes, in order. */
function mixedBatch(): SessionChange[] {
  return [
    { kind: 'open', input: login() },
    { kind: 'open', input: login({ user: 'bob', ip: '10.1.2.4', method: 'fsso', openedBy: '0102043014' }) },
    { kind: 'open', input: login({ eventTimeMs: T0 + 1_000 }) }, // replaces the first (same device, method, address)
    { kind: 'open', input: login({ user: 'carol', ip: '198.51.100.7', tunnelIp: '10.212.0.9', method: 'sslvpn', openedBy: '0101039947' }) },
    { kind: 'open', input: login({ user: 'admin', ip: '10.9.9.9', method: 'admin', externalId: 'sn-1', openedBy: '0100032001' }) },
    { kind: 'open', input: login({ user: 'admin', ip: '10.9.9.9', method: 'admin', externalId: 'sn-1', openedBy: '0100032001', eventTimeMs: T0 + 2_000 }) },
    { kind: 'close', selector: { by: 'ip', ip: '10.1.2.4', method: 'fsso' }, eventTimeMs: T0 + 3_000, reason: 'logout' },
    { kind: 'open', input: login({ user: 'dave', ip: '10.212.0.9', method: 'sslvpn', openedBy: '0101039947', eventTimeMs: T0 + 3_500 }) },
    { kind: 'close', selector: { by: 'ip', ip: '10.212.0.9', method: 'sslvpn' }, eventTimeMs: T0 + 4_000, reason: 'tunnel-down' },
    { kind: 'open', input: login({ user: 'erin', ip: '10.1.2.3', device: 'FGT60E0000000002', eventTimeMs: T0 + 4_500 }) },
  ];
}

/** Audit entries without the stream-assigned parts, for comparing two runs. */
async function auditSummary(store: ReturnType<typeof createSessionStore>, redis: Parameters<typeof readAudit>[0]) {
  return (await readAudit(redis, store.layout)).map((entry) => ({ ...entry }));
}

describe.each(BACKENDS)('session-apply on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);
  const setup = (label = 'apply') => {
    const prefix = uniquePrefix(label);
    return { store: createSessionStore(redis(), { prefix }), reader: createSessionReader(redis(), { prefix }) };
  };

  it('applies a batch in order with the same results, state and audit as one script call per change', async () => {
    const batched = setup('apply-batch');
    const single = setup('apply-single');
    const ops = mixedBatch();
    const batchedResults = await batched.store.applyOps(ops, T0 + 5_000);
    const singleResults = [];
    for (const op of ops) {
      if (op.kind === 'open') {
        // session-open-2 through the single-change path of the store.
        singleResults.push({ kind: 'open' as const, result: await single.store.open(op.input, T0 + 5_000) });
      } else {
        singleResults.push({ kind: 'close' as const, closed: await single.store.close(op.selector, op.eventTimeMs, op.reason) });
      }
    }
    expect(batchedResults).toEqual(singleResults);
    expect(batchedResults.map((r) => (r.kind === 'open' ? r.result.status : r.closed.length))).toEqual([
      // dave's session (key address 10.212.0.9) supersedes carol's tunnel (tunnel IP 10.212.0.9).
      'opened', 'opened', 'replaced', 'opened', 'opened', 'replaced', 1, 'replaced', 1, 'opened',
    ]);
    const batchedIds = await expectIndicesConsistent(redis(), batched.store.layout);
    expect(await expectIndicesConsistent(redis(), single.store.layout)).toEqual(batchedIds);
    expect(batchedIds).toHaveLength(3);
    expect(await auditSummary(batched.store, redis())).toEqual(await auditSummary(single.store, redis()));
  });

  it('finds the superseded session through the addr index, with one entry per (device, method, key address)', async () => {
    const { store } = setup();
    const first = await store.open(login(), T0);
    const layout = store.layout;
    const addr = layout.addressIndex('FGT60E0000000001');
    expect(await redis().hgetall(addr)).toEqual({ [layout.addressIndexField('firewall', '10.1.2.3')]: first.id });
    const second = await store.open(login({ user: 'bob', eventTimeMs: T0 + 10 }), T0 + 10);
    expect(second).toMatchObject({ status: 'replaced', replacedIds: [first.id] });
    expect(await redis().hgetall(addr)).toEqual({ [layout.addressIndexField('firewall', '10.1.2.3')]: second.id });
    // A session with an external id is found by it, never through the addr index.
    await store.open(login({ method: 'admin', externalId: 'sn-9', openedBy: '0100032001' }), T0 + 20);
    expect(Object.keys(await redis().hgetall(addr))).toHaveLength(1);
    // Tunnel sessions are keyed by the tunnel IP.
    const tunnel = await store.open(login({ method: 'sslvpn', tunnelIp: '10.212.1.1', openedBy: '0101039947' }), T0 + 30);
    expect(await redis().hget(addr, layout.addressIndexField('sslvpn', '10.212.1.1'))).toBe(tunnel.id);
    await store.close({ by: 'id', id: second.id }, T0 + 40, 'logout');
    expect(await redis().hget(addr, layout.addressIndexField('firewall', '10.1.2.3'))).toBeNull();
    await expectIndicesConsistent(redis(), layout);
  });

  it('drops an addr entry whose session the safety TTL removed, and opens normally', async () => {
    const { store } = setup();
    const lost = await store.open(login(), T0);
    await redis().del(store.layout.session(lost.id)); // as if the safety TTL fired without a sweep
    const next = await store.open(login({ eventTimeMs: T0 + 1_000 }), T0 + 1_000);
    expect(next).toMatchObject({ status: 'opened', replacedIds: [] });
    expect(await redis().hget(store.layout.addressIndex('FGT60E0000000001'), store.layout.addressIndexField('firewall', '10.1.2.3'))).toBe(next.id);
  });

  it('returns an error code in place of a bad change and still applies the others; a malformed batch applies nothing', async () => {
    const { store } = setup();
    const layout = store.layout;
    const good = login();
    const id = deriveSessionId(good);
    const reply = await redis().fortistreamSessionApply(
      layout.expiry, layout.auditStream, layout.sessionBase, T0, 3_600_000, 1000, '', 3,
      'open', 0, id, 'alice', '', '10.1.2.3', '', 'FGT60E0000000001', 'root', 'firewall', T0, 'forever', 300, '0102043008', '',
      'close', 0, 'nope', 'x', '', '', T0, 'logout',
      'open', 0, id, 'alice', '', '10.1.2.3', '', 'FGT60E0000000001', 'root', 'firewall', T0, 'idle', 300, '0102043008', '',
    );
    expect(reply).toEqual([StateScriptErrorCode.BadTimeoutType, StateScriptErrorCode.BadMode, ['opened', id, String(T0 + 300_000)]]);
    const malformed = await redis().fortistreamSessionApply(layout.expiry, layout.auditStream, layout.sessionBase, T0, 0, 1000, '', 2, 'open', 0, 'x');
    expect(malformed).toBe(StateScriptErrorCode.BadArgument);
    expect(await readAudit(redis(), layout)).toHaveLength(1);
  });

  it('splits long batches into several calls and keeps the order across them', async () => {
    const { store, reader } = setup();
    // 250 logins from 50 addresses: each address is re-logged 5 times, the last login wins.
    const ops: SessionChange[] = Array.from({ length: 250 }, (_, i) => ({
      kind: 'open',
      input: login({ user: `u${i}`, ip: `10.3.0.${i % 50}`, eventTimeMs: T0 + i }),
    }));
    const results = await store.applyOps(ops, T0 + 250);
    expect(results.filter((r) => r.kind === 'open' && r.result.status === 'replaced')).toHaveLength(200);
    expect((await reader.byIp('10.3.0.7')).map((s) => s.user)).toEqual(['u207']);
    expect(await expectIndicesConsistent(redis(), store.layout)).toHaveLength(50);
  });

  it('converts index hashes past 128 entries to hashtable encoding, leaving no trace in them', async () => {
    const { store, reader } = setup();
    const inputs = Array.from({ length: 200 }, (_, i) => login({ user: `u${i}`, ip: `10.4.${i >> 8}.${i & 255}`, eventTimeMs: T0 + i }));
    await store.openMany(inputs, T0 + 200);
    const layout = store.layout;
    for (const key of [layout.ipIndex, layout.userIndex, layout.deviceIndex('FGT60E0000000001'), layout.addressIndex('FGT60E0000000001')]) {
      expect(await redis().call('OBJECT', 'ENCODING', key)).toBe('hashtable');
      expect(await redis().hlen(key)).toBe(200);
    }
    expect((await reader.byIp('10.4.0.77')).map((s) => s.user)).toEqual(['u77']);
    await expectIndicesConsistent(redis(), layout);
    // A small index stays a compact listpack.
    const small = setup();
    await small.store.open(login(), T0);
    expect(await redis().call('OBJECT', 'ENCODING', small.store.layout.ipIndex)).toBe('listpack');
  });

  it('asks each shared index key for its TTL once per call and leaves every key with its safety TTL', async () => {
    const { store } = setup();
    const ops: SessionChange[] = [
      { kind: 'open', input: login() },
      { kind: 'close', selector: { by: 'ip', ip: '10.1.2.3' }, eventTimeMs: T0 + 1, reason: 'logout' }, // empties (deletes) every index key
      { kind: 'open', input: login({ user: 'bob', eventTimeMs: T0 + 2 }) }, // recreates them
    ];
    await store.applyOps(ops, T0 + 2);
    const layout = store.layout;
    for (const key of [layout.ipIndex, layout.userIndex, layout.deviceIndex('FGT60E0000000001'), layout.addressIndex('FGT60E0000000001'), layout.expiry]) {
      expect(await redis().pttl(key)).toBeGreaterThan(300_000);
    }
    await expectIndicesConsistent(redis(), layout);
  });
});
