import { describe, expect, it } from 'vitest';
import { createSessionReader } from '../../../src/state/session-reader.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, expectIndicesConsistent, login, readAudit, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();

describe.each(BACKENDS)('session-sweep on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);
  const setup = () => {
    const prefix = uniquePrefix('sweep');
    return { store: createSessionStore(redis(), { prefix }), reader: createSessionReader(redis(), { prefix }) };
  };

  it('expires exactly the due sessions (expires_ms ≤ now), returns and audits them', async () => {
    const { store, reader } = setup();
    const short = await store.open(login({ ip: '10.0.0.1', timeoutSeconds: 60 }), T0);
    const exact = await store.open(login({ ip: '10.0.0.2', timeoutSeconds: 120 }), T0);
    const later = await store.open(login({ ip: '10.0.0.3', timeoutSeconds: 121 }), T0);
    expect((await store.sweep(T0 + 59_999)).expired).toEqual([]);
    const swept = await store.sweep(T0 + 120_000);
    expect(swept.expired.map((s) => s.id)).toEqual([short.id, exact.id]);
    expect(swept.more).toBe(false);
    expect(swept.lostIds).toEqual([]);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([later.id]);
    expect(await reader.byIp('10.0.0.1')).toEqual([]);
    const expired = (await readAudit(redis(), store.layout)).filter((e) => e['event.action'] === 'session.expired');
    expect(expired.map((e) => [e['session.id'], e['event.reason'], e['event.time_ms']])).toEqual([
      [short.id, 'idle', String(T0 + 60_000)],
      [exact.id, 'idle', String(T0 + 120_000)],
    ]);
  });

  it('idle vs hard: activity keeps an idle session alive past its first expiry, not a hard one', async () => {
    const { store } = setup();
    const idle = await store.open(login({ ip: '10.0.0.1', timeoutType: 'idle', timeoutSeconds: 300 }), T0);
    const hard = await store.open(login({ ip: '10.0.0.2', timeoutType: 'hard', timeoutSeconds: 300 }), T0);
    await store.refresh(
      [
        { ip: '10.0.0.1', timeMs: T0 + 200_000 },
        { ip: '10.0.0.2', timeMs: T0 + 200_000 },
      ],
      T0 + 200_000,
    );
    const atFirstExpiry = await store.sweep(T0 + 300_000);
    expect(atFirstExpiry.expired.map((s) => [s.id, s.timeoutType])).toEqual([[hard.id, 'hard']]);
    const later = await store.sweep(T0 + 500_000);
    expect(later.expired.map((s) => s.id)).toEqual([idle.id]);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([]);
    const reasons = (await readAudit(redis(), store.layout))
      .filter((e) => e['event.action'] === 'session.expired')
      .map((e) => e['event.reason']);
    expect(reasons).toEqual(['hard', 'idle']);
  });

  it('is bounded per call and says when there is more', async () => {
    const { store } = setup();
    for (let i = 0; i < 5; i += 1) await store.open(login({ ip: `10.0.1.${i}`, timeoutSeconds: 10 + i }), T0);
    const first = await store.sweep(T0 + 60_000, 3);
    expect(first.expired).toHaveLength(3);
    expect(first.more).toBe(true);
    const second = await store.sweep(T0 + 60_000, 3);
    expect(second.expired).toHaveLength(2);
    expect(second.more).toBe(false);
    expect(await expectIndicesConsistent(redis(), store.layout)).toEqual([]);
  });

  it('reports a session whose hash the safety TTL removed as lost and cleans its expiry entry', async () => {
    const { store } = setup();
    const { id } = await store.open(login(), T0);
    await redis().del(store.layout.session(id)); // what the safety TTL does when no sweep ran
    const swept = await store.sweep(T0 + 400_000);
    expect(swept).toEqual({ expired: [], lostIds: [id], more: false });
    expect(await redis().zcard(store.layout.expiry)).toBe(0);
    const last = (await readAudit(redis(), store.layout)).at(-1);
    expect(last).toMatchObject({ 'event.action': 'session.expired', 'event.reason': 'lost', 'session.id': id });
  });

  it('the reader skips an index entry without a session, and can hide due sessions', async () => {
    const { store, reader } = setup();
    const { id } = await store.open(login(), T0);
    await redis().hset(store.layout.ipIndex, '10.1.2.3', `ghost ${id}`);
    expect((await reader.byIp('10.1.2.3')).map((s) => s.id)).toEqual([id]);
    expect(await reader.byIp('10.1.2.3', { nowMs: T0 + 300_000 })).toEqual([]);
    expect((await reader.list()).map((s) => s.id)).toEqual([id]);
  });
});
