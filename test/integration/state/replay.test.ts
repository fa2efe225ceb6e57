import { describe, expect, it } from 'vitest';
import { createCounterStore, type CounterSpec, type CounterUpdate } from '../../../src/state/counters.js';
import { createSessionReader } from '../../../src/state/session-reader.js';
import { createSessionStore, type SessionChange } from '../../../src/state/sessions.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, expectIndicesConsistent, login, readAudit, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();
const counter: CounterSpec = { name: 'failed_logins_by_user', windowSeconds: 60, bucketSeconds: 10, threshold: 3 };
const plain: CounterSpec = { name: 'denies_by_source', windowSeconds: 60, bucketSeconds: 10 };
const s = (seconds: number): number => T0 + seconds * 1000;

function updates(spec: CounterSpec, keys: string[], at: number): CounterUpdate[] {
  return keys.map((key, i) => ({ counter: spec, key, timeMs: s(at) + i }));
}

/** A batch's session changes with the frame sequence of the event each came from. */
function sessionBatch(): { ops: SessionChange[]; seqs: number[] } {
  return {
    ops: [
      { kind: 'open', input: login() },
      { kind: 'open', input: login({ user: 'bob', ip: '10.1.2.4', method: 'fsso', openedBy: '0102043014' }) },
      { kind: 'close', selector: { by: 'ip', ip: '10.1.2.4', method: 'fsso' }, eventTimeMs: T0 + 3_000, reason: 'logout' },
      // Two changes of one event (same sequence): a logout and the next login from the address.
      { kind: 'close', selector: { by: 'ip', ip: '10.1.2.3' }, eventTimeMs: T0 + 4_000, reason: 'logout' },
      { kind: 'open', input: login({ user: 'carol', eventTimeMs: T0 + 4_000 }) },
    ],
    seqs: [100, 101, 102, 103, 103],
  };
}

describe.each(BACKENDS)('replayed batches on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);

  it('counters: a batch applied again (same writer, sequence not above the last) counts once', async () => {
    const store = createCounterStore(redis(), { prefix: uniquePrefix('replay-counter') });
    const batch = [...updates(counter, ['alice', 'alice', 'alice', 'bob'], 10), ...updates(plain, ['10.0.0.1', '10.0.0.1'], 10)];
    const first = await store.apply(batch, s(11), { writer: 'w1', seq: 500 });
    expect(first).toMatchObject({ applied: 6, replayed: 0 });
    expect(first.alerts.map((a) => a.key)).toEqual(['alice']);
    // The same batch again (a retry after a lost reply), then an older one (a replay of the batch before).
    await store.ackAlerts(first.alerts);
    const again = await store.apply(batch, s(11), { writer: 'w1', seq: 500 });
    expect(again).toMatchObject({ applied: 0, replayed: 6, alerts: [] });
    expect(await store.apply(batch, s(11), { writer: 'w1', seq: 499 })).toMatchObject({ applied: 0, replayed: 6 });
    expect((await store.read(counter, 'alice', s(11))).value).toBe(3);
    expect((await store.read(counter, 'bob', s(11))).value).toBe(1);
    expect((await store.read(plain, '10.0.0.1', s(11))).value).toBe(2);
    // A later batch, and another writer's batch with a lower sequence, both apply.
    expect(await store.apply(updates(counter, ['bob'], 12), s(12), { writer: 'w1', seq: 501 })).toMatchObject({ applied: 1 });
    expect(await store.apply(updates(counter, ['bob'], 13), s(13), { writer: 'w2', seq: 7 })).toMatchObject({ applied: 1 });
    expect((await store.read(counter, 'bob', s(13))).value).toBe(3);
    // Without a batch sequence nothing is remembered or checked (direct callers, tests).
    expect(await store.apply(updates(plain, ['10.0.0.1'], 14), s(14))).toMatchObject({ applied: 1 });
    expect((await store.read(plain, '10.0.0.1', s(14))).value).toBe(3);
  });

  it('counters: a batch partly applied (some keys) applies only the rest when sent again', async () => {
    const store = createCounterStore(redis(), { prefix: uniquePrefix('replay-partial') });
    await store.apply(updates(plain, ['a'], 20), s(20), { writer: 'w', seq: 900 });
    // The lost attempt reached key "a" only; the retry carries "a" and "b".
    const retry = await store.apply([...updates(plain, ['a'], 20), ...updates(plain, ['b'], 20)], s(20), { writer: 'w', seq: 900 });
    expect(retry).toMatchObject({ applied: 1, replayed: 1 });
    expect((await store.read(plain, 'a', s(20))).value).toBe(1);
    expect((await store.read(plain, 'b', s(20))).value).toBe(1);
  });

  it('sessions: opens, closes and their audit entries are applied once however often the batch is sent', async () => {
    const prefix = uniquePrefix('replay-sessions');
    const store = createSessionStore(redis(), { prefix });
    const reader = createSessionReader(redis(), { prefix });
    const { ops, seqs } = sessionBatch();
    const first = await store.applyOps(ops, T0 + 5_000, { writer: 'w1', seqs });
    const ids = await expectIndicesConsistent(redis(), store.layout);
    const audit = await readAudit(redis(), store.layout);
    const sessions = await reader.list();
    expect(audit.length).toBeGreaterThanOrEqual(5);
    // Sent again, whole or from the middle (a spool replay cut elsewhere): nothing changes.
    const again = await store.applyOps(ops, T0 + 5_000, { writer: 'w1', seqs });
    expect(again.map((r) => (r.kind === 'open' ? r.result.status : r.closed.length))).toEqual(['replayed', 'replayed', 0, 0, 'replayed']);
    await store.applyOps(ops.slice(2), T0 + 5_000, { writer: 'w1', seqs: seqs.slice(2) });
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual(ids);
    expect(await readAudit(redis(), store.layout)).toEqual(audit);
    expect(await reader.list()).toEqual(sessions);
    expect(first.map((r) => (r.kind === 'open' ? r.result.status : r.closed.length))).toEqual(['opened', 'opened', 1, 1, 'opened']);
    // The same batch without the guard is NOT idempotent (why the guard exists): bob logs in again.
    const unguarded = await store.applyOps(ops.slice(1, 2), T0 + 5_000);
    expect(unguarded[0]).toMatchObject({ kind: 'open', result: { status: 'opened' } });
  });

  it('sessions: a batch that failed after its first call applies the rest on retry, never splitting one event', async () => {
    const prefix = uniquePrefix('replay-split');
    const store = createSessionStore(redis(), { prefix });
    // 150 logins (more than one call); a first attempt that only reached the first call is
    // modelled by applying the first 100 changes, then the whole batch again.
    const ops: SessionChange[] = Array.from({ length: 150 }, (_, i) => ({
      kind: 'open',
      input: login({ user: `u${i}`, ip: `10.4.${i >> 8}.${i & 255}`, eventTimeMs: T0 + i }),
    }));
    const seqs = ops.map((_, i) => 1000 + i);
    await store.applyOps(ops.slice(0, 100), T0 + 1_000, { writer: 'w', seqs: seqs.slice(0, 100) });
    const retry = await store.applyOps(ops, T0 + 1_000, { writer: 'w', seqs });
    const statuses = retry.map((r) => (r.kind === 'open' ? r.result.status : ''));
    expect(statuses.filter((x) => x === 'replayed')).toHaveLength(100);
    expect(statuses.filter((x) => x === 'opened')).toHaveLength(50);
    expect(await readAudit(redis(), store.layout)).toHaveLength(150);
  });

  it('sessions: refreshing with the same activity again changes nothing and audits nothing more', async () => {
    const prefix = uniquePrefix('replay-refresh');
    const store = createSessionStore(redis(), { prefix, auditRefresh: true });
    await store.open(login(), T0);
    const activity = [{ ip: '10.1.2.3', timeMs: T0 + 60_000 }];
    expect(await store.refresh(activity, T0 + 60_000)).toHaveLength(1);
    const audit = await readAudit(redis(), store.layout);
    const session = await redis().hgetall(store.layout.session((await expectIndicesConsistent(redis(), store.layout))[0] as string));
    expect(await store.refresh(activity, T0 + 61_000)).toHaveLength(0);
    expect(await readAudit(redis(), store.layout)).toEqual(audit);
    expect(await redis().hgetall(store.layout.session((await expectIndicesConsistent(redis(), store.layout))[0] as string))).toEqual(session);
  });
});
