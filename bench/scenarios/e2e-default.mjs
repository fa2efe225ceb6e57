// End-to-end with the default pipeline's state stage: the loadgen's mix over TCP (octet counting),
// parsed, XADDed, and applied to sessions (auth events) and the four default counters (every event).
// Reports events/s, the worker's peak RSS, and Redis memory per live session.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ROOT, cpuMicros, entriesAdded, peakRssBytes, rssBytes, runLoadgen, startRedis, startWorker } from '../lib/worker.mjs';

// The stream is capped (BENCH_E2E_MAX_LEN, default 100,000) as in production, where the cap is reached
// once and Redis then reuses the memory of trimmed entries; landed entries are counted with XINFO STREAM
// entries-added. (Uncapped, a 1,000,000-line run also measures Redis growing to ~1.7 GB: ~40 % of its CPU
// then went to the kernel, against ~25 % at 300,000 lines: measured 2026-12-05.)
const MAX_LEN = Number(process.env.BENCH_E2E_MAX_LEN ?? 100_000);
const COUNT = Number(process.env.BENCH_E2E_COUNT ?? 500_000);
const defaults = readFileSync(join(ROOT, 'pipelines', 'default.yaml'), 'utf8');
// BENCH_E2E_NO_STATE=1 leaves the state stage out: the same ingest without sessions and counters,
// to see how much of the Redis CPU per event the state scripts account for.
const stateSections = process.env.BENCH_E2E_NO_STATE ? '' : defaults.slice(defaults.indexOf('\nsessions:'), defaults.indexOf('\nsinks:'));
const redisServer = await startRedis();
const redis = new Redis(redisServer.url);
const worker = await startWorker(
  `
redis: { key_prefix: "bench:" }
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams, max_len: ${MAX_LEN} }
${stateSections}
`,
  redisServer.url,
);
const { host, port } = worker.addresses.tcp_in;
// Redis is single-threaded and shares the cores: its CPU per event (user + sys) is the budget.
const cpuSeconds = (info) => Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
const cpuBefore = cpuSeconds(await redis.info('cpu'));
const workerCpuBefore = cpuMicros(worker.child.pid);
let peakRss = rssBytes(worker.child.pid);
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, rssBytes(worker.child.pid));
}, 50);
// Loadgen events are stamped from a fixed date: start them now so sessions are live when opened.
const loadgen = runLoadgen(['--tcp', `${host}:${port}`, '--count', String(COUNT), '--pregen', '--seed', '11', '--start-ms', String(Date.now())]);
let firstAt = 0;
let firstLen = 0;
let lastAt = 0;
let length = 0;
const deadline = Date.now() + 600_000;
while (Date.now() < deadline) {
  length = await entriesAdded(redis, 'bench:events:soc');
  const now = performance.now();
  if (length > 0 && firstAt === 0) {
    firstAt = now;
    firstLen = length;
  }
  if (length >= COUNT) {
    lastAt = now;
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
await loadgen;
// The state stage may still be applying the last batches; give it a moment before reading state.
await new Promise((r) => setTimeout(r, 500));
clearInterval(sampler);
peakRss = Math.max(peakRss, peakRssBytes(worker.child.pid));
const redisCpuUsPerEvent = ((cpuSeconds(await redis.info('cpu')) - cpuBefore) * 1e6) / COUNT;
const workerCpuUsPerEvent = (cpuMicros(worker.child.pid) - workerCpuBefore) / COUNT;
const sessions = await redis.zcard('bench:{bench:audit}:expiry');
const alerts = await redis.xlen('bench:alerts');
if (process.env.BENCH_COMMANDSTATS) {
  const stats = (await redis.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat_'));
  const rows = stats.map((l) => {
    const [name, rest] = l.split(':');
    const f = Object.fromEntries(rest.split(',').map((kv) => kv.split('=')));
    return { name, calls: Number(f.calls), usec: Number(f.usec), per: Number(f.usec_per_call) };
  });
  rows.sort((a, b) => b.usec - a.usec);
  process.stderr.write(`${JSON.stringify(rows.slice(0, 12))}\n`);
}
const audit = await redis.xlen('bench:audit');
await worker.stop();
await redis.quit();
await redisServer.stop();
const seconds = (lastAt - firstAt) / 1000;
console.log(
  JSON.stringify({
    events: COUNT,
    landed: length,
    events_per_s: lastAt ? Math.round((COUNT - firstLen) / seconds) : 0,
    peak_rss_mb: +(peakRss / 1024 / 1024).toFixed(1),
    live_sessions: sessions,
    audit_entries: audit,
    alerts,
    worker_cpu_us_per_event: +workerCpuUsPerEvent.toFixed(2),
    redis_cpu_us_per_event: +redisCpuUsPerEvent.toFixed(2),
    // Upper bounds: Redis runs on one core; worker and Redis share the machine's cores (the loadgen too).
    redis_bound_events_per_s: Math.round(1e6 / redisCpuUsPerEvent),
    cores_bound_events_per_s: Math.round((cpus().length * 1e6) / (redisCpuUsPerEvent + workerCpuUsPerEvent)),
    load_avg_1m: +loadavg()[0].toFixed(2),
  }),
);
