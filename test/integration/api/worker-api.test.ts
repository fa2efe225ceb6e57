import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../../src/main.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

const TOKEN = 'ops-token-0123456789abcdefghijklmn';

describe('startWorker wires the operations API to the running worker', () => {
  const prefix = uniquePrefix('wapi');
  const redis = testRedisClient();
  const dir = mkdtempSync(join(tmpdir(), 'fst-wapi-'));
  let running: RunningWorker;
  let base: string;

  beforeAll(async () => {
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `tokens:\n  - { name: ops, token: "${TOKEN}", roles: [read, write] }\n`, { mode: 0o600 });
    const pipelineFile = join(dir, 'pipeline.yaml');
    writeFileSync(
      pipelineFile,
      `
redis:
  key_prefix: "${prefix}"
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:0" }
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
sessions:
  methods:
    idp: { type: hard-timeout, seconds: 900 }
counters:
  - { name: failed_per_ip, when: { event.code: "0100032002" }, key: [source.ip], window_seconds: 60, bucket_seconds: 10, threshold: 2 }
api:
  tokens_file: "${tokens}"
`,
    );
    running = await startWorker({ pipelineFile, redisUrl: testRedisUrl(), logger: pino({ level: 'silent' }), api: '127.0.0.1:0' });
    const address = running.api?.address();
    if (!address) throw new Error('api not started');
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await running?.shutdown();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready with both listeners bound, and /metrics lists the worker metrics and scrape-time gauges', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { listeners: { ok: true, bound: 2, expected: 2 }, lag: { ok: true } } });
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toContain('fortistream_process_');
    expect(metrics).toMatch(/^fortistream_active_sessions 0$/m);
    expect(metrics).toContain(`fortistream_stream_length{stream="${prefix}events:soc"}`);
    const udpPort = running.worker.addresses().udp_in?.port;
    // /proc/net/udp exists on Linux; elsewhere the metric is simply absent
    if (process.platform === 'linux') expect(metrics).toContain(`fortistream_udp_kernel_drops_total{source="udp_in",port="${udpPort}"} `);
  });

  it('opens an idp session with the pipeline timeout through the worker session store', async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const res = await fetch(`${base}/v1/identity/events`, { method: 'POST', headers: auth, body: JSON.stringify({ events: [{ type: 'login', user: 'dana', groups: ['Ops'], source_ip: '192.0.2.7', idp: 'entra' }] }) });
    expect(res.status).toBe(200);
    const decision = await (await fetch(`${base}/v1/decision?ip=192.0.2.7`, { headers: auth })).json();
    expect(decision).toMatchObject({ known: true, users: ['dana'], groups: ['Ops'], methods: ['idp'], over: [] });
    const sessions = (await (await fetch(`${base}/v1/sessions?ip=192.0.2.7`, { headers: auth })).json()) as { sessions: { timeout_seconds: number; timeout_type: string }[] };
    expect(sessions.sessions[0]).toMatchObject({ timeout_type: 'hard', timeout_seconds: 900 });
    expect((await fetch(`${base}/v1/counters/failed_per_ip?key=192.0.2.7`, { headers: auth })).status).toBe(200);
  });
});
