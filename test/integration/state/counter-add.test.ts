import { describe, expect, it } from 'vitest';
import { createCounterStore, type CounterSpec } from '../../../src/state/counters.js';
import { StateScriptErrorCode } from '../../../src/state/errors.js';
import { uniquePrefix } from '../../support/redis.js';
import { BACKENDS, T0, useBackendClient, useLocalCluster } from './state-test-kit.js';

const cluster = useLocalCluster();

/** 60 s window in 10 s buckets; alert at 5. T0 is a multiple of 10 s. */
const failed: CounterSpec = { name: 'failed_logins_by_user', windowSeconds: 60, bucketSeconds: 10, threshold: 5 };
const s = (seconds: number): number => T0 + seconds * 1000;

describe.each(BACKENDS)('counter-add on %s Redis', (backend) => {
  const redis = useBackendClient(backend, cluster);
  const setup = () => createCounterStore(redis(), { prefix: uniquePrefix('counter') });

  it('slides across bucket boundaries with exact sums', async () => {
    const store = setup();
    // A threshold no test reaches: the full path, which drops old buckets on every call.
    const counter = { ...failed, threshold: 1000 };
    await store.apply([1, 15, 19, 59].map((t) => ({ counter, key: 'alice', timeMs: s(t) })), s(59));
    expect((await store.read(counter, 'alice', s(59))).value).toBe(4);
    // At 60 s the bucket [0, 10) leaves the window (60 s − 60 s window, exclusive).
    const at60 = await store.read(counter, 'alice', s(60));
    expect(at60).toMatchObject({ value: 3, windowStartMs: s(10), windowEndMs: s(70) });
    expect(at60.buckets.map((b) => [b.startMs, b.value, b.firstEventMs, b.lastEventMs])).toEqual([
      [s(10), 2, s(15), s(19)],
      [s(50), 1, s(59), s(59)],
    ]);
    expect((await store.read(counter, 'alice', s(69))).value).toBe(3);
    expect((await store.read(counter, 'alice', s(70))).value).toBe(1);
    expect((await store.read(counter, 'alice', s(120))).value).toBe(0);
    // A later call drops the buckets that left the window (no lateness configured).
    await store.apply([{ counter, key: 'alice', timeMs: s(75) }], s(75));
    const fields = await redis().hkeys(store.layout.counterBuckets(counter.name, 'alice'));
    expect(fields.sort()).toEqual([`c:${s(50)}`, `c:${s(70)}`, `f:${s(50)}`, `f:${s(70)}`, `l:${s(50)}`, `l:${s(70)}`].sort());
  });

  it('keeps a threshold-less counter exact and its hash bounded without reading it on every call', async () => {
    const store = setup();
    const counter = { ...failed, threshold: undefined };
    const key = store.layout.counterBuckets(counter.name, 'dave');
    // One event every 10 s for 300 s: 30 buckets, of which a 60 s window holds 6.
    for (let t = 0; t < 300; t += 10) {
      await store.apply([{ counter, key: 'dave', timeMs: s(t) }, { counter, key: 'dave', timeMs: s(t + 5) }], s(t + 5));
      expect((await store.read(counter, 'dave', s(t + 5))).value).toBe(2 * Math.min(t / 10 + 1, 6));
      // Retained range: window + lateness (0) + the current bucket = 7 buckets, 3 fields each.
      expect(await redis().hlen(key)).toBeLessThanOrEqual(3 * 7 + 3);
    }
    expect(await redis().pttl(key)).toBeGreaterThan(0);
  });

  it('applies hundreds of keys in one batch, each with its own sum and alert', async () => {
    const store = setup();
    const counter = { ...failed, threshold: 3 };
    // 450 keys (more than one multi-key call on a single Redis): key k gets k % 5 events.
    const updates = Array.from({ length: 450 }, (_, k) => Array.from({ length: k % 5 }, (_, i) => ({ counter, key: `u${k}`, timeMs: s(20) + i }))).flat();
    const result = await store.apply(updates, s(20));
    expect(result.applied).toBe(updates.length);
    const alerted = result.alerts.map((a) => a.key).sort();
    const expected = Array.from({ length: 450 }, (_, k) => k).filter((k) => k % 5 >= 3).map((k) => `u${k}`).sort();
    expect(alerted).toEqual(expected);
    for (const alert of result.alerts) expect(alert.value).toBe(Number(alert.key.slice(1)) % 5);
    for (const k of [0, 1, 2, 3, 4, 448, 449]) expect((await store.read(counter, `u${k}`, s(20))).value).toBe(k % 5);
  });

  it('combines a batch into one bucket entry and reports applied events', async () => {
    const store = setup();
    const counter = { ...failed, threshold: undefined };
    const updates = Array.from({ length: 100 }, (_, i) => ({ counter, key: 'bob', timeMs: s(20) + i }));
    expect(await store.apply(updates, s(20))).toEqual({ alerts: [], applied: 100, late: 0, replayed: 0 });
    expect(await redis().hgetall(store.layout.counterBuckets(counter.name, 'bob'))).toEqual({
      [`c:${s(20)}`]: '100',
      [`f:${s(20)}`]: String(s(20)),
      [`l:${s(20)}`]: String(s(20) + 99),
    });
  });

  it('does not apply late events and counts them', async () => {
    const store = setup();
    const counter = { ...failed, threshold: undefined };
    const result = await store.apply(
      [
        { counter, key: 'carol', timeMs: s(100), increment: 1 },
        { counter, key: 'carol', timeMs: s(139) }, // bucket 130: ≤ 200 − 60 → outside the window
        { counter, key: 'carol', timeMs: s(141) }, // bucket 140: ≤ 140 → late too
        { counter, key: 'carol', timeMs: s(150) }, // bucket 150: in the window
        { counter, key: 'carol', timeMs: s(200) },
      ],
      s(200),
    );
    expect(result).toEqual({ alerts: [], applied: 2, late: 3, replayed: 0 });
    expect((await store.read(counter, 'carol', s(200))).value).toBe(2);
    const fields = await redis().hkeys(store.layout.counterBuckets(counter.name, 'carol'));
    expect(fields.filter((f) => f.startsWith('c:')).sort()).toEqual([`c:${s(150)}`, `c:${s(200)}`]);
  });

  it('applies events within the lateness bound, which can still alert for their own window', async () => {
    const store = setup();
    const counter: CounterSpec = { ...failed, latenessSeconds: 60 };
    await store.apply([{ counter, key: 'dan', timeMs: s(300) }], s(300));
    // Five failures from a delayed source at 200–204 s: outside the current window, within lateness.
    const result = await store.apply([0, 1, 2, 3, 4].map((i) => ({ counter, key: 'dan', timeMs: s(200 + i) })), s(300));
    expect(result.late).toBe(0);
    expect(result.applied).toBe(5);
    expect(result.alerts).toEqual([
      expect.objectContaining({ value: 5, firstEventMs: s(200), lastEventMs: s(204), windowStartMs: s(150), windowEndMs: s(210) }),
    ]);
    expect((await store.read(counter, 'dan', s(300))).value).toBe(1);
    // 81 s behind the window start (300 − 60 − 60 = 180): late.
    expect((await store.apply([{ counter, key: 'dan', timeMs: s(179) }], s(300))).late).toBe(1);
  });

  it('alerts once per window when the threshold is reached, and again in the next window', async () => {
    const store = setup();
    const first = await store.apply([1, 2, 3, 4].map((t) => ({ counter: failed, key: 'eve', timeMs: s(t) })), s(4));
    expect(first.alerts).toEqual([]);
    const crossing = await store.apply([{ counter: failed, key: 'eve', timeMs: s(12) }], s(12));
    expect(crossing.alerts).toEqual([
      {
        counter: 'failed_logins_by_user',
        key: 'eve',
        value: 5,
        threshold: 5,
        windowSeconds: 60,
        windowStartMs: s(-40),
        windowEndMs: s(20),
        firstEventMs: s(1),
        lastEventMs: s(12),
      },
    ]);
    expect(await redis().get(store.layout.counterAlert(failed.name, 'eve'))).toBe(String(s(10)));
    await store.ackAlerts(crossing.alerts);
    // Still above the threshold within the same window: no second alert.
    for (const t of [13, 30, 35, 55, 69]) {
      expect((await store.apply([{ counter: failed, key: 'eve', timeMs: s(t) }], s(t))).alerts).toEqual([]);
    }
    // From bucket 70 on, the window no longer overlaps the alerted one: 30, 35, 55, 69, 71 → fires.
    const next = await store.apply([{ counter: failed, key: 'eve', timeMs: s(71) }], s(71));
    expect(next.alerts).toEqual([
      expect.objectContaining({ value: 5, windowStartMs: s(20), windowEndMs: s(80), firstEventMs: s(30), lastEventMs: s(71) }),
    ]);
    await store.ackAlerts(next.alerts);
    expect((await store.apply([{ counter: failed, key: 'eve', timeMs: s(72) }], s(72))).alerts).toEqual([]);
  });

  it('keeps raising an alert until it is confirmed written, then never again (at least once, not at most)', async () => {
    const store = setup();
    const batch = [1, 2, 3, 4, 5].map((t) => ({ counter: failed, key: 'mallory', timeMs: s(t) }));
    const fired = await store.apply(batch, s(5), { writer: 'w', seq: 10 });
    expect(fired.alerts).toEqual([expect.objectContaining({ key: 'mallory', value: 5, windowEndMs: s(10) })]);
    // The XADD of that alert was lost: the batch's retry (a replay: nothing counted twice) raises it again…
    const retried = await store.apply(batch, s(5), { writer: 'w', seq: 10 });
    expect(retried).toMatchObject({ applied: 0, replayed: 5 });
    expect(retried.alerts).toEqual(fired.alerts);
    // …and so does the key's next event, without raising a new alert for the same window.
    const next = await store.apply([{ counter: failed, key: 'mallory', timeMs: s(6) }], s(6), { writer: 'w', seq: 11 });
    expect(next.alerts).toEqual(fired.alerts);
    expect((await store.read(failed, 'mallory', s(6))).value).toBe(6);
    // A pending alert is not a bucket to readers.
    expect((await store.read(failed, 'mallory', s(6))).buckets.map((b) => b.startMs)).toEqual([s(0)]);
    // Confirmed: gone from the key, not raised by a replay or by later events in the window.
    await store.ackAlerts(next.alerts);
    expect(await redis().hkeys(store.layout.counterBuckets(failed.name, 'mallory'))).not.toContain(`a:${s(10)}`);
    expect((await store.apply(batch, s(5), { writer: 'w', seq: 10 })).alerts).toEqual([]);
    expect((await store.apply([{ counter: failed, key: 'mallory', timeMs: s(7) }], s(7), { writer: 'w', seq: 12 })).alerts).toEqual([]);
  });

  it('sets TTLs so idle keys disappear: buckets and alert marker', async () => {
    const store = setup();
    const counter: CounterSpec = { ...failed, threshold: 1, latenessSeconds: 30 };
    await store.apply([{ counter, key: 'frank', timeMs: s(1) }], s(1));
    const ttl = await redis().pttl(store.layout.counterBuckets(counter.name, 'frank'));
    expect(ttl).toBeGreaterThan(95_000);
    expect(ttl).toBeLessThanOrEqual(100_000); // window 60 + lateness 30 + bucket 10
    const alertTtl = await redis().pttl(store.layout.counterAlert(counter.name, 'frank'));
    expect(alertTtl).toBeGreaterThan(95_000);
    expect(alertTtl).toBeLessThanOrEqual(100_000);
  });

  it('handles many keys in one batch without CROSSSLOT and lists them', async () => {
    const store = setup();
    const counter = { ...failed, threshold: 2 };
    const ips = Array.from({ length: 40 }, (_, i) => `10.0.0.${i}`);
    const result = await store.apply(
      ips.flatMap((ip) => [
        { counter, key: ip, timeMs: s(1) },
        { counter, key: ip, timeMs: s(2) },
      ]),
      s(2),
    );
    expect(result.applied).toBe(80);
    expect(result.alerts.map((a) => a.key).sort()).toEqual([...ips].sort());
    expect((await store.keys(counter)).sort()).toEqual([...ips].sort());
    expect(await store.keys('other_counter')).toEqual([]);
    if (backend === 'cluster') {
      const slots = new Set<number>();
      for (const ip of ips) slots.add(Number(await redis().call('CLUSTER', 'KEYSLOT', store.layout.counterBuckets(counter.name, ip))));
      expect(slots.size).toBeGreaterThan(10);
    }
  });

  it('keeps first/last exact on the threshold-less path: later calls and a bucket given twice in one call', async () => {
    const store = setup();
    const bucketsKey = store.layout.counterBuckets('plain', 'k');
    const alertKey = store.layout.counterAlert('plain', 'k');
    const call = (...updates: number[]) =>
      redis().fortistreamCounterAdd(bucketsKey, alertKey, s(25), 60_000, 10_000, 0, 0, updates.length / 4, ...updates, '', 0);
    // Bucket s(20): 2 events in [s(20)+3000, s(20)+4000].
    await call(s(20), 2, s(20) + 3000, s(20) + 4000);
    // A later call with earlier and later events in that bucket, given as two entries.
    // The second entry's first/last lie between the first entry's and the stored ones.
    await call(s(20), 1, s(20) + 1000, s(20) + 9000, s(20), 1, s(20) + 2000, s(20) + 5000);
    expect(await redis().hgetall(bucketsKey)).toMatchObject({
      [`c:${s(20)}`]: '4',
      [`f:${s(20)}`]: String(s(20) + 1000),
      [`l:${s(20)}`]: String(s(20) + 9000),
    });
  });

  it('refuses a replayed batch on the threshold-less path before changing anything', async () => {
    const store = setup();
    const bucketsKey = store.layout.counterBuckets('plain', 'r');
    const alertKey = store.layout.counterAlert('plain', 'r');
    const call = (seq: number) =>
      redis().fortistreamCounterAdd(bucketsKey, alertKey, s(25), 60_000, 10_000, 0, 0, 1, s(20), 5, s(20), s(20) + 10, 'seq:w', seq);
    // Replies: { sum_now (-1: replayed), alerts, late buckets }.
    expect(await call(7)).toEqual([0, 0, 0]);
    const stored = await redis().hgetall(bucketsKey);
    expect(await call(7)).toEqual([-1, 0, 0]);
    expect(await call(6)).toEqual([-1, 0, 0]);
    expect(await redis().hgetall(bucketsKey)).toEqual(stored);
    expect(stored['seq:w']).toBe('7');
    expect(await call(8)).toEqual([0, 0, 0]);
    expect((await redis().hgetall(bucketsKey))[`c:${s(20)}`]).toBe('10');
  });

  it('returns error codes for bad arguments from the script itself', async () => {
    const store = setup();
    const bucketsKey = store.layout.counterBuckets('x', 'k');
    const alertKey = store.layout.counterAlert('x', 'k');
    await expect(redis().fortistreamCounterAdd(bucketsKey, alertKey, s(0), 65_000, 10_000, 0, 0, 0)).resolves.toBe(StateScriptErrorCode.BadWindow);
    await expect(redis().fortistreamCounterAdd(bucketsKey, alertKey, s(0), 60_000, 10_000, 0, 0, 2, s(0))).resolves.toBe(
      StateScriptErrorCode.BadArgument,
    );
  });
});
