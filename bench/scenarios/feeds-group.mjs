// Group feeds: a private Redis with 10,000 and then 50,000 live sessions (one in five in group
// "Finance", a third of those with a tunnel IP too). Measures, per size:
// - full_*: the full computation the feeds did before the group index, kept for comparison
//   (readGroupAddresses: ZRANGEBYSCORE + pipelined HMGETs, then sort + render), uncached;
// - index_load_*: the group index's one full load (a new feed source's first computation; also what
//   the background resync costs every 10 minutes), and the heap the index keeps;
// - index_*: a computation through the index (source.compute, as the pusher's snapshots and an
//   uncached poll do) with nothing new, after `CHANGES` session changes outside the group (catch up,
//   no render), and after `CHANGES` changes in the group (catch up, then sort + render);
// - the push path's per-address membership read, and GET /v1/feeds/finance.txt over HTTP on
//   loopback with the 1 s cache, as a FortiGate polls it (200 with a body, 304 with If-None-Match).
// Prints one JSON line.
import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createApiApp } from '../../dist/src/api/app.js';
import { startApiServer } from '../../dist/src/api/server.js';
import { createTokenStore } from '../../dist/src/api/tokens.js';
import { renderFeed } from '../../dist/src/feeds/body.js';
import { createFeedSource } from '../../dist/src/feeds/source.js';
import { readAddressGroups, readGroupAddresses } from '../../dist/src/feeds/membership.js';
import { defineFeed, feedsSettingsSchema } from '../../dist/src/feeds/settings.js';
import { startPrivateRedis } from '../../dist/src/runtime/redis-server.js';
import { createSessionStore } from '../../dist/src/state/sessions.js';

const SIZES = [10_000, 50_000];
const COMPUTES = 20;
const INDEX_COMPUTES = 50;
const LOADS = 3;
const CHANGES = [10, 100];
const LOOKUPS = 2_000;
const REQUESTS = 2_000;
const BATCH = 500;
const TOKEN = 'bench-token-0123456789abcdefghijklmn';
const ipOf = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const ms = (ns) => Number((Number(ns) / 1e6).toFixed(3));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const sortNs = (samples) => samples.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const heapMb = () => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const timed = async (samples, run) => {
  const start = process.hrtime.bigint();
  const value = await run();
  samples.push(process.hrtime.bigint() - start);
  return value;
};

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

  const sessionInput = (i, now, groups) => ({
    user: `user${i}@corp.example`,
    groups,
    ip: ipOf(i),
    ...(groups.includes('Finance') && i % 3 === 0 ? { tunnelIp: `172.16.${(i >> 8) & 255}.${i & 255}` } : {}),
    device: 'FGT60E0000000001',
    method: 'idp',
    eventTimeMs: now,
    timeoutType: 'idle',
    timeoutSeconds: 28_800,
    openedBy: 'bench',
    externalId: String(i),
  });
  const groupsOf = (i) => (i % 5 === 0 ? ['staff', 'Finance'] : ['staff', i % 3 === 0 ? 'vpn-admins' : 'vpn-users']);
  // churn: `count` changes, half logins of new sessions and half logouts of the previous round's
  let churnId = 10_000_000;
  const churnOpen = [];
  const logout = (ids) => Promise.all(ids.map((id) => sessions.close({ by: 'id', id }, Date.now(), 'logout')));
  const churn = async (count, groups) => {
    const now = Date.now();
    await logout(churnOpen.splice(0, count / 2));
    const inputs = [];
    for (let n = 0; n < count / 2; n += 1) inputs.push(sessionInput((churnId += 1), now, groups));
    for (const opened of await sessions.openMany(inputs, now)) churnOpen.push(opened.id);
  };

  let opened = 0;
  for (const size of SIZES) {
    const now = Date.now();
    for (; opened < size; ) {
      const inputs = [];
      for (let i = opened; i < Math.min(size, opened + BATCH); i += 1) inputs.push(sessionInput(i, now, groupsOf(i)));
      await sessions.openMany(inputs, now);
      opened += inputs.length;
    }
    const fullNs = [];
    let entries = 0;
    let bytes = 0;
    for (let i = 0; i < COMPUTES; i += 1) {
      const rendered = await timed(fullNs, async () => {
        const read = await readGroupAddresses(redis, keys, ['Finance'], Date.now());
        return renderFeed(read.get('finance') ?? [], feeds[0].maxBytes);
      });
      entries = rendered.total;
      bytes = rendered.body.length;
    }
    sortNs(fullNs);

    // three new sources, each loading its own index; the last one is measured below
    const loadNs = [];
    let source;
    let indexHeapMb = 0;
    for (let i = 0; i < LOADS; i += 1) {
      source = undefined;
      const heapBefore = heapMb();
      source = createFeedSource({ redis, keys, feeds, logger, cacheMs: 0 });
      const first = await timed(loadNs, () => source.compute(feeds[0]));
      if (first.total !== entries) throw new Error(`index: ${first.total} entries, full read: ${entries}`);
      indexHeapMb = heapMb() - heapBefore;
    }
    sortNs(loadNs);
    const unchangedNs = [];
    for (let i = 0; i < INDEX_COMPUTES; i += 1) await timed(unchangedNs, () => source.compute(feeds[0]));
    sortNs(unchangedNs);
    const changed = {};
    for (const count of CHANGES) {
      for (const [label, groups] of [
        ['other_groups', ['staff', 'vpn-users']],
        ['in_group', ['staff', 'Finance']],
      ]) {
        const samples = [];
        for (let i = 0; i < INDEX_COMPUTES; i += 1) {
          await churn(count, groups);
          await timed(samples, () => source.compute(feeds[0]));
        }
        sortNs(samples);
        changed[`index_after_${count}_changes_${label}_p50_ms`] = ms(percentile(samples, 50));
        changed[`index_after_${count}_changes_${label}_max_ms`] = ms(percentile(samples, 100));
      }
      // back to the base population
      await logout(churnOpen.splice(0));
    }
    const check = await source.compute(feeds[0]);
    const fullRead = (await readGroupAddresses(redis, keys, ['Finance'], Date.now())).get('finance');
    if (check.total !== entries || fullRead.size !== entries) throw new Error(`index: ${check.total} entries, full read: ${fullRead.size}, before: ${entries}`);
    const stats = source.indexStats();
    if (stats.loads !== 1) throw new Error(`index loaded ${stats.loads} times`);

    const lookupNs = [];
    for (let i = 0; i < LOOKUPS; i += 1) {
      const start = process.hrtime.bigint();
      await readAddressGroups(redis, keys, [ipOf((i * 7919) % size)], Date.now());
      lookupNs.push(process.hrtime.bigint() - start);
    }
    sortNs(lookupNs);
    const firstGet = await get({});
    if (firstGet.status !== 200) throw new Error(`HTTP ${firstGet.status}`);
    const fullHttpNs = [];
    const notModifiedNs = [];
    for (let i = 0; i < REQUESTS; i += 1) {
      let start = process.hrtime.bigint();
      const full = await get({});
      fullHttpNs.push(process.hrtime.bigint() - start);
      start = process.hrtime.bigint();
      const cached = await get({ 'if-none-match': full.etag });
      notModifiedNs.push(process.hrtime.bigint() - start);
      if (full.status !== 200 || cached.status !== 304) throw new Error(`HTTP ${full.status}/${cached.status}`);
    }
    sortNs(fullHttpNs);
    sortNs(notModifiedNs);
    result[`sessions_${size}`] = {
      feed_entries: entries,
      feed_bytes: bytes,
      full_compute_p50_ms: ms(percentile(fullNs, 50)),
      full_compute_max_ms: ms(percentile(fullNs, 100)),
      index_load_p50_ms: ms(percentile(loadNs, 50)),
      index_heap_mb: Number(indexHeapMb.toFixed(1)),
      index_unchanged_p50_ms: ms(percentile(unchangedNs, 50)),
      index_unchanged_max_ms: ms(percentile(unchangedNs, 100)),
      ...changed,
      address_lookup_p50_ms: ms(percentile(lookupNs, 50)),
      address_lookup_p99_ms: ms(percentile(lookupNs, 99)),
      http_200_p50_ms: ms(percentile(fullHttpNs, 50)),
      http_200_p99_ms: ms(percentile(fullHttpNs, 99)),
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
