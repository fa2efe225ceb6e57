// End-to-end ingest: the loadgen sends N pre-generated lines over one TCP connection (RFC 6587 octet
// counting) to the built worker, which parses them and XADDs them to a private Redis. Measures
// events/s from the first to the last entry landing, and the worker's peak RSS.
import { Redis } from 'ioredis';
import { peakRssBytes, rssBytes, runLoadgen, startRedis, startWorker } from '../lib/worker.mjs';

const COUNT = Number(process.env.BENCH_E2E_COUNT ?? 1_000_000);
const redisServer = await startRedis();
const redis = new Redis(redisServer.url);
const worker = await startWorker(
  `
redis: { key_prefix: "bench:" }
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams, max_len: ${COUNT * 2} }
`,
  redisServer.url,
);
const { host, port } = worker.addresses.tcp_in;
const stream = 'bench:events:soc';

let peakRss = rssBytes(worker.child.pid);
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, rssBytes(worker.child.pid));
}, 50);

const loadgen = runLoadgen(['--tcp', `${host}:${port}`, '--framing', 'octet', '--count', String(COUNT), '--pregen', '--seed', '7']);
let firstAt = 0;
let firstLen = 0;
let lastAt = 0;
let length = 0;
const deadline = Date.now() + 600_000;
while (Date.now() < deadline) {
  length = await redis.xlen(stream);
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
const sent = await loadgen;
clearInterval(sampler);
peakRss = Math.max(peakRss, peakRssBytes(worker.child.pid));
const dead = await redis.xlen('bench:dead');
await worker.stop();
await redis.quit();
await redisServer.stop();

const seconds = (lastAt - firstAt) / 1000;
console.log(
  JSON.stringify({
    events: COUNT,
    landed: length,
    dead,
    events_per_s: lastAt ? Math.round((COUNT - firstLen) / seconds) : 0,
    mb_per_s: lastAt ? +((sent.payloadBytes / COUNT) * (COUNT - firstLen) / seconds / 1e6).toFixed(1) : 0,
    peak_rss_mb: +(peakRss / 1024 / 1024).toFixed(1),
    loadgen_msgs_per_s: sent.msgsPerSec,
  }),
);
