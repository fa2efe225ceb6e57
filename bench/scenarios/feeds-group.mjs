// Group feeds: a private Redis with 10,000 and then 50,000 live sessions (one in five in group
// "Finance", a third of those with a tunnel IP too). Measures, per size: the full computation of a
// group feed body from Redis (ZRANGEBYSCORE + pipelined HMGETs + sort + render), uncached; the
// push path's per-address membership read; and GET /v1/feeds/finance.txt over HTTP on loopback with
// the 1 s cache, as a FortiGate polls it (200 with a body, and 304 with If-None-Match).
// Prints one JSON line.
import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createApiApp } from '../../dist/src/api/app.js';
import { startApiServer } from '../../dist/src/api/server.js';
import { createTokenStore } from '../../dist/src/api/tokens.js';
import { createFeedSource } from '../../dist/src/feeds/source.js';
import { readAddressGroups } from '../../dist/src/feeds/membership.js';
import { defineFeed, feedsSettingsSchema } from '../../dist/src/feeds/settings.js';
import { startPrivateRedis } from '../../dist/src/runtime/redis-server.js';
import { createSessionStore } from '../../dist/src/state/sessions.js';

const SIZES = [10_000, 50_000];
const COMPUTES = 20;
const LOOKUPS = 2_000;
const REQUESTS = 2_000;
const BATCH = 500;
const TOKEN = 'bench-token-0123456789abcdefghijklmn';
const ipOf = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const ms = (ns) => Number((Number(ns) / 1e6).toFixed(3));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const sortNs = (samples) => samples.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

const server = await startPrivateRedis();
const redis = new Redis(server.url);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const logger = pino({ level: 'silent' });
const result = {};
let api;
try {
  const sessions = createSessionStore(redis);
  const keys = sessions.layout;
  const settings = feedsSettingsSchema.parse({ finance: { type: 'group', group: 'Finance' } });
  const feeds = Object.entries(settings).map(([name, s]) => defineFeed(name, s));
  const tokens = createTokenStore({ tokens: [{ name: 'bench', token: TOKEN, roles: ['read'] }] }, 'bench');
  const app = createApiApp({ redis, streams: {}, tokens, logger, feeds: { keys, feeds } });
  api = await startApiServer(app, '127.0.0.1:0');
  const { port } = api.address();
  const get = (headers) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/feeds/finance.txt', agent, headers: { authorization: `Bearer ${TOKEN}`, ...headers } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, etag: res.headers.etag, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });

  let opened = 0;
  for (const size of SIZES) {
    const now = Date.now();
    for (; opened < size; ) {
      const inputs = [];
      for (let i = opened; i < Math.min(size, opened + BATCH); i += 1) {
        const finance = i % 5 === 0;
        inputs.push({
          user: `user${i}@corp.example`,
          groups: finance ? ['staff', 'Finance'] : ['staff', i % 3 === 0 ? 'vpn-admins' : 'vpn-users'],
          ip: ipOf(i),
          ...(finance && i % 3 === 0 ? { tunnelIp: `172.16.${(i >> 8) & 255}.${i & 255}` } : {}),
          device: 'FGT60E0000000001',
          method: 'idp',
          eventTimeMs: now,
          timeoutType: 'idle',
          timeoutSeconds: 28_800,
          openedBy: 'bench',
          externalId: String(i),
        });
      }
      await sessions.openMany(inputs, now);
      opened += inputs.length;
    }
    const source = createFeedSource({ redis, keys, feeds, logger, cacheMs: 0 });
    const computeNs = [];
    let entries = 0;
    let bytes = 0;
    for (let i = 0; i < COMPUTES; i += 1) {
      const start = process.hrtime.bigint();
      const rendered = await source.compute(feeds[0]);
      computeNs.push(process.hrtime.bigint() - start);
      entries = rendered.total;
      bytes = rendered.body.length;
    }
    sortNs(computeNs);
    const lookupNs = [];
    for (let i = 0; i < LOOKUPS; i += 1) {
      const start = process.hrtime.bigint();
      await readAddressGroups(redis, keys, [ipOf((i * 7919) % size)], Date.now());
      lookupNs.push(process.hrtime.bigint() - start);
    }
    sortNs(lookupNs);
    const first = await get({});
    if (first.status !== 200) throw new Error(`HTTP ${first.status}`);
    const fullNs = [];
    const notModifiedNs = [];
    for (let i = 0; i < REQUESTS; i += 1) {
      let start = process.hrtime.bigint();
      const full = await get({});
      fullNs.push(process.hrtime.bigint() - start);
      start = process.hrtime.bigint();
      const cached = await get({ 'if-none-match': full.etag });
      notModifiedNs.push(process.hrtime.bigint() - start);
      if (full.status !== 200 || cached.status !== 304) throw new Error(`HTTP ${full.status}/${cached.status}`);
    }
    sortNs(fullNs);
    sortNs(notModifiedNs);
    result[`sessions_${size}`] = {
      feed_entries: entries,
      feed_bytes: bytes,
      compute_p50_ms: ms(percentile(computeNs, 50)),
      compute_max_ms: ms(percentile(computeNs, 100)),
      address_lookup_p50_ms: ms(percentile(lookupNs, 50)),
      address_lookup_p99_ms: ms(percentile(lookupNs, 99)),
      http_200_p50_ms: ms(percentile(fullNs, 50)),
      http_200_p99_ms: ms(percentile(fullNs, 99)),
      http_304_p50_ms: ms(percentile(notModifiedNs, 50)),
      http_304_p99_ms: ms(percentile(notModifiedNs, 99)),
    };
  }
  console.log(JSON.stringify(result));
} finally {
  agent.destroy();
  await api?.close();
  await redis.quit();
  await server.stop();
}
