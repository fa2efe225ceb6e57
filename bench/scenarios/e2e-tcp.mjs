// End-to-end ingest: the loadgen sends N pre-generated lines over one TCP connection (RFC 6587 octet
// counting) to the built worker, which parses them and XADDs them to a private Redis. Measures
// events/s from the first to the last entry landing, the worker's peak RSS, and the CPU each process
// spent per event over that window (worker, Redis, loadgen: they share the machine's cores).
// BENCH_E2E_COUNT (default 1,000,000), BENCH_WORKER_FLAGS (node flags for the worker).
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { cpuMicros, entriesAdded, peakRssBytes, rssBytes, runLoadgen, startRedis, startWorker } from '../lib/worker.mjs';

// The stream is capped (BENCH_E2E_MAX_LEN, default 100,000) as in production, where the cap is reached
// once and Redis then reuses the memory of trimmed entries; landed entries are counted with XINFO STREAM
// entries-added. (Uncapped, a 1,000,000-line run also measures Redis growing to ~1.7 GB: ~40 % of its CPU
// then went to the kernel, against ~25 % at 300,000 lines: measured 2026-12-05.)
const MAX_LEN = Number(process.env.BENCH_E2E_MAX_LEN ?? 100_000);
const COUNT = Number(process.env.BENCH_E2E_COUNT ?? 1_000_000);
const redisServer = await startRedis();
const redis = new Redis(redisServer.url);
const worker = await startWorker(
  `
redis: { key_prefix: "bench:" }
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams, max_len: ${MAX_LEN} }
`,
  redisServer.url,
);
const { host, port } = worker.addresses.tcp_in;
const stream = 'bench:events:soc';
const workerPid = worker.child.pid;

/** Redis's own CPU seconds (user + sys), from INFO. */
async function redisCpuMicros() {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1e6;
}

let peakRss = rssBytes(workerPid);
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, rssBytes(workerPid));
}, 50);

let loadgenPid = 0;
const loadgen = runLoadgen(
  ['--tcp', `${host}:${port}`, '--framing', 'octet', '--count', String(COUNT), '--pregen', '--seed', '7'],
  (pid) => (loadgenPid = pid),
);
let firstAt = 0;
let firstLen = 0;
let lastAt = 0;
let length = 0;
let cpuAtFirst = { worker: 0, redis: 0, loadgen: 0 };
let cpuAtLast = { worker: 0, redis: 0, loadgen: 0 };
let loadgenLast = 0;
const deadline = Date.now() + 600_000;
while (Date.now() < deadline) {
  length = await entriesAdded(redis, stream);
  const now = performance.now();
  const loadgenCpu = cpuMicros(loadgenPid);
  if (loadgenCpu > 0) loadgenLast = loadgenCpu;
  if (length > 0 && firstAt === 0) {
    firstAt = now;
    firstLen = length;
    cpuAtFirst = { worker: cpuMicros(workerPid), redis: await redisCpuMicros(), loadgen: loadgenLast };
  }
  if (length >= COUNT) {
    lastAt = now;
    cpuAtLast = { worker: cpuMicros(workerPid), redis: await redisCpuMicros(), loadgen: loadgenLast };
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
const sent = await loadgen;
clearInterval(sampler);
peakRss = Math.max(peakRss, peakRssBytes(workerPid));
const dead = await redis.xlen('bench:dead');
await worker.stop();
await redis.quit();
await redisServer.stop();

const seconds = (lastAt - firstAt) / 1000;
const measured = COUNT - firstLen;
const perEvent = (key) => (lastAt ? +((cpuAtLast[key] - cpuAtFirst[key]) / measured).toFixed(2) : 0);
// Upper bounds from the CPU each process spent per event: Redis runs on one core, so it cannot take
// more than 1 s / its µs per event; and the three processes share the machine's cores.
const cpuTotal = perEvent('worker') + perEvent('redis') + perEvent('loadgen');
console.log(
  JSON.stringify({
    events: COUNT,
    landed: length,
    dead,
    events_per_s: lastAt ? Math.round(measured / seconds) : 0,
    mb_per_s: lastAt ? +((sent.payloadBytes / COUNT) * measured / seconds / 1e6).toFixed(1) : 0,
    peak_rss_mb: +(peakRss / 1024 / 1024).toFixed(1),
    worker_cpu_us_per_event: perEvent('worker'),
    redis_cpu_us_per_event: perEvent('redis'),
    // Approximate: sampled every ~20 ms while the loadgen runs (it exits as soon as it sent everything).
    loadgen_cpu_us_per_event: perEvent('loadgen'),
    loadgen_msgs_per_s: sent.msgsPerSec,
    redis_bound_events_per_s: perEvent('redis') > 0 ? Math.round(1e6 / perEvent('redis')) : 0,
    cores_bound_events_per_s: cpuTotal > 0 ? Math.round((cpus().length * 1e6) / cpuTotal) : 0,
    worker_flags: process.env.BENCH_WORKER_FLAGS ?? '',
    load_avg_1m: +loadavg()[0].toFixed(2),
  }),
);
