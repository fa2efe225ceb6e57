// Sliding-window counters: apply 200,000 event updates in batches of 1,000 (denies per source IP
// over 2,000 addresses, failed logins per user over 500 users), as the state stage would per tick.
// Reports events/s and script calls/s: combining per (counter, key, bucket) is what keeps the
// calls far below the events. Prints one JSON line. Each batch carries a batch sequence (the replay
// guard: one HGET more per script call); BENCH_NO_REPLAY_GUARD=1 leaves it out, to compare.
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../dist/src/runtime/redis-server.js';
import { createCounterStore } from '../../dist/src/state/counters.js';

const EVENTS = 200_000;
const BATCH = 1_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const EVENTS_PER_SECOND_OF_LOG = 2_000; // event time advances 1 s per 2,000 events

const denies = { name: 'denied_by_source_ip', windowSeconds: 60, bucketSeconds: 5, threshold: 100 };
const failures = { name: 'failed_logins_by_user', windowSeconds: 300, bucketSeconds: 10, threshold: 6 };

// A fixed pseudo-random sequence (no Math.random) so runs compare.
let seed = 42;
function next() {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
}

const guard = process.env.BENCH_NO_REPLAY_GUARD !== '1';
const server = await startPrivateRedis();
const redis = new Redis(server.url);
try {
  const store = createCounterStore(redis);
  let calls = 0;
  let updateCount = 0;
  let alerts = 0;
  let late = 0;
  const start = process.hrtime.bigint();
  for (let base = 0; base < EVENTS; base += BATCH) {
    const updates = [];
    for (let i = base; i < base + BATCH; i += 1) {
      const timeMs = T0 + Math.floor((i / EVENTS_PER_SECOND_OF_LOG) * 1000);
      const r = next();
      // Most traffic comes from few addresses: square a uniform draw in [0, 1) to skew it.
      const u = (r % 10_000) / 10_000;
      const host = Math.floor(u * u * 2000);
      const ip = `10.0.${host >> 8}.${host & 255}`;
      updates.push({ counter: denies, key: ip, timeMs });
      if (r % 10 === 0) updates.push({ counter: failures, key: `user${r % 500}`, timeMs });
    }
    updateCount += updates.length;
    const keysInBatch = new Set(updates.map((u) => `${u.counter.name}|${u.key}`)).size;
    calls += keysInBatch;
    const nowMs = T0 + Math.floor(((base + BATCH) / EVENTS_PER_SECOND_OF_LOG) * 1000);
    const result = guard ? await store.apply(updates, nowMs, { writer: 'bench', seq: base + BATCH }) : await store.apply(updates, nowMs);
    // As the state stage does once the alerts are written: confirmed alerts are not raised again.
    if (result.alerts.length > 0) await store.ackAlerts(result.alerts);
    alerts += result.alerts.length;
    late += result.late;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    JSON.stringify({
      events: EVENTS,
      updates: updateCount,
      batch_events: BATCH,
      events_per_s: Math.round(EVENTS / seconds),
      script_calls: calls,
      script_calls_per_s: Math.round(calls / seconds),
      alerts,
      late,
      replay_guard: guard,
    }),
  );
} finally {
  await redis.quit();
  await server.stop();
}
