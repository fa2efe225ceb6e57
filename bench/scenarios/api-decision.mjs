// The decision fast path over HTTP: a private Redis, the API app served in-process on loopback,
// 10,000 live sessions and two source.ip counters (one key over its threshold); then 5,000
// sequential GET /v1/decision?ip= on one keep-alive connection, timed from request to last byte.
// Target (issue 5): p99 < 2 ms. Prints one JSON line.
import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createApiApp } from '../../dist/src/api/app.js';
import { startApiServer } from '../../dist/src/api/server.js';
import { createTokenStore } from '../../dist/src/api/tokens.js';
import { startPrivateRedis } from '../../dist/src/runtime/redis-server.js';
import { createCounterStore } from '../../dist/src/state/counters.js';
import { compileRules } from '../../dist/src/state/rules.js';
import { createSessionStore } from '../../dist/src/state/sessions.js';

const SESSIONS = 10_000;
const REQUESTS = 5_000;
const WARMUP = 500;
const BATCH = 500;
const TOKEN = 'bench-token-0123456789abcdefghijklmn';

const ipOf = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function percentile(sortedNs, p) {
  const index = Math.min(sortedNs.length - 1, Math.ceil((p / 100) * sortedNs.length) - 1);
  return Number(sortedNs[index]) / 1e6;
}

const server = await startPrivateRedis();
const redis = new Redis(server.url);
let api;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
try {
  const now = Date.now();
  const sessions = createSessionStore(redis);
  for (let start = 0; start < SESSIONS; start += BATCH) {
    const inputs = [];
    for (let i = start; i < Math.min(SESSIONS, start + BATCH); i += 1) {
      inputs.push({
        user: `user${String(i).padStart(5, '0')}@corp.example`,
        groups: ['staff', i % 3 === 0 ? 'vpn-admins' : 'vpn-users'],
        ip: ipOf(i),
        device: `FGT60E00000000${String(i % 10).padStart(2, '0')}`,
        method: i % 2 === 0 ? 'sslvpn' : 'idp',
        eventTimeMs: now,
        timeoutType: 'idle',
        timeoutSeconds: 28_800,
        openedBy: '0101039947',
        externalId: String(1_000_000 + i),
      });
    }
    const results = await sessions.openMany(inputs, now);
    if (results.some((r) => r.status !== 'opened')) throw new Error('a session did not open');
  }
  const counterSettings = [
    { name: 'failed_logins_per_ip', when: { 'event.code': '0100032002' }, key: ['source.ip'], window_seconds: 300, bucket_seconds: 10, threshold: 10 },
    { name: 'denied_traffic_per_ip', when: { 'event.action': 'deny' }, key: ['source.ip'], window_seconds: 300, bucket_seconds: 10, threshold: 1000 },
  ];
  const rules = compileRules(undefined, counterSettings);
  const counters = createCounterStore(redis);
  const failed = rules.counters[0];
  await counters.apply(Array.from({ length: 12 }, () => ({ counter: failed, key: ipOf(7), timeMs: now })), now);

  const tokens = createTokenStore({ tokens: [{ name: 'bench', token: TOKEN, roles: ['read'] }] }, 'bench');
  const app = createApiApp({
    redis,
    streams: {},
    tokens,
    logger: pino({ level: 'silent' }),
    ops: {
      state: {
        sessions,
        counters: rules.counters.map((spec, i) => ({ spec, key: counterSettings[i].key })),
        resolveTimeout: (method, groups) => rules.resolveTimeout(method, groups),
      },
    },
  });
  api = await startApiServer(app, '127.0.0.1:0');
  const { port } = api.address();

  const get = (ip) =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: `/v1/decision?ip=${ip}`, agent, headers: { authorization: `Bearer ${TOKEN}` } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end();
    });

  const over = JSON.parse((await get(ipOf(7))).toString());
  if (!over.known || over.over.length !== 1) throw new Error(`unexpected decision ${JSON.stringify(over)}`);
  for (let i = 0; i < WARMUP; i += 1) await get(ipOf((i * 31) % SESSIONS));
  const samples = new Array(REQUESTS);
  let bytes = 0;
  for (let i = 0; i < REQUESTS; i += 1) {
    // every 10th address has no session (unknown caller)
    const ip = i % 10 === 0 ? `172.16.${(i >> 8) & 255}.${i & 255}` : ipOf((i * 7919) % SESSIONS);
    const start = process.hrtime.bigint();
    const body = await get(ip);
    samples[i] = process.hrtime.bigint() - start;
    bytes += body.length;
  }
  samples.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  console.log(
    JSON.stringify({
      sessions: SESSIONS,
      requests: REQUESTS,
      p50_ms: Number(percentile(samples, 50).toFixed(3)),
      p99_ms: Number(percentile(samples, 99).toFixed(3)),
      max_ms: Number(percentile(samples, 100).toFixed(3)),
      mean_body_bytes: Math.round(bytes / REQUESTS),
      target_p99_ms: 2,
    }),
  );
} finally {
  agent.destroy();
  await api?.close();
  await redis.quit();
  await server.stop();
}
