// Identity sessions in Redis: open 10,000 sessions (pipelined batches), then measure the reader's
// byIp and byUser latency one call at a time, and Redis memory per live session.
// Targets (issue 3): p99 < 1 ms, ≤ 1 KB per session. Prints one JSON line.
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../dist/src/runtime/redis-server.js';
import { createSessionReader } from '../../dist/src/state/session-reader.js';
import { createSessionStore } from '../../dist/src/state/sessions.js';

const SESSIONS = 10_000;
const LOOKUPS = 10_000;
const WARMUP = 1_000;
const BATCH = 500;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const METHODS = ['sslvpn', 'firewall', 'fsso', 'sslvpn'];

function sessionInput(i) {
  const method = METHODS[i % METHODS.length];
  return {
    user: `user${String(i).padStart(5, '0')}@corp.example`,
    groups: ['staff', i % 3 === 0 ? 'vpn-admins' : 'vpn-users'],
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    tunnelIp: method === 'sslvpn' ? `10.212.${(i >> 8) & 255}.${i & 255}` : undefined,
    device: `FGT60E00000000${String(i % 10).padStart(2, '0')}`,
    vdom: 'root',
    method,
    eventTimeMs: T0 + i,
    timeoutType: 'idle',
    timeoutSeconds: 28_800,
    openedBy: method === 'sslvpn' ? '0101039947' : method === 'fsso' ? '0102043014' : '0102043008',
    externalId: method === 'sslvpn' ? String(1_000_000 + i) : undefined,
  };
}

function percentile(sortedNs, p) {
  const index = Math.min(sortedNs.length - 1, Math.ceil((p / 100) * sortedNs.length) - 1);
  return Number(sortedNs[index]) / 1000;
}

async function measure(call, keys) {
  for (let i = 0; i < WARMUP; i += 1) await call(keys[i % keys.length]);
  const samples = new Array(LOOKUPS);
  for (let i = 0; i < LOOKUPS; i += 1) {
    const key = keys[(i * 7919) % keys.length];
    const start = process.hrtime.bigint();
    const found = await call(key);
    samples[i] = process.hrtime.bigint() - start;
    if (found.length === 0) throw new Error(`lookup of ${key} found nothing`);
  }
  samples.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { p50_us: percentile(samples, 50), p99_us: percentile(samples, 99) };
}

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

const server = await startPrivateRedis();
const redis = new Redis(server.url);
try {
  const store = createSessionStore(redis);
  const reader = createSessionReader(redis);
  const before = await usedMemory(redis);
  const inputs = Array.from({ length: SESSIONS }, (_, i) => sessionInput(i));
  const openStart = process.hrtime.bigint();
  for (let i = 0; i < SESSIONS; i += BATCH) {
    const results = await store.openMany(inputs.slice(i, i + BATCH), T0 + SESSIONS);
    if (results.some((r) => r.status !== 'opened')) throw new Error('a session did not open');
  }
  const openSeconds = Number(process.hrtime.bigint() - openStart) / 1e9;
  // The audit stream is capped history, not per-session state: leave it out of the per-session figure.
  const auditEntries = await redis.xlen(store.layout.auditStream);
  await redis.del(store.layout.auditStream);
  const after = await usedMemory(redis);

  const ips = inputs.map((s) => s.ip);
  const users = inputs.map((s) => s.user.toUpperCase());
  const byIp = await measure((ip) => reader.byIp(ip), ips);
  const byUser = await measure((user) => reader.byUser(user), users);
  console.log(
    JSON.stringify({
      sessions: SESSIONS,
      opens_per_s: Math.round(SESSIONS / openSeconds),
      audit_entries: auditEntries,
      bytes_per_session: Math.round((after - before) / SESSIONS),
      by_ip_p50_us: byIp.p50_us,
      by_ip_p99_us: byIp.p99_us,
      by_user_p50_us: byUser.p50_us,
      by_user_p99_us: byUser.p99_us,
      lookups: LOOKUPS,
    }),
  );
} finally {
  await redis.quit();
  await server.stop();
}
