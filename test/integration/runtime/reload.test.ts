import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream } from '../../../src/demo/send.js';
import { startWorker, type PipelineReloadEvent, type RunningWorker } from '../../../src/main.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { numberedTraffic, numbersOf, startNumberedSender, type NumberedSender } from '../../support/numbered-sender.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

const TOKEN = 'reload-token-0123456789abcdefghijkl';
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Version {
  readonly state?: boolean;
  readonly sinkMaxLen?: number;
  readonly fixedIdleSeconds?: number;
  readonly fixedAddress?: string;
  readonly extraSource?: string;
  readonly mlKeyring?: string;
}

describe('startWorker: hot reload of a running worker and its API', () => {
  const prefix = uniquePrefix('reload');
  const redis = testRedisClient();
  const dir = mkdtempSync(join(tmpdir(), 'fst-reload-'));
  const pipelineFile = join(dir, 'pipeline.yaml');
  const keyringFile = join(dir, 'ml-keys.json');
  let fixedPort: number;
  let running: RunningWorker;
  let base: string;
  let sender: NumberedSender;
  const events: PipelineReloadEvent[] = [];

  const write = (version: Version = {}): void => {
    writeFileSync(
      pipelineFile,
      `
redis: { key_prefix: "${prefix}" }
pipeline: { batch_max_events: 40, batch_max_wait_ms: 5 }
sources:
  a: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
  fixed: { type: syslog, mode: tcp, address: "${version.fixedAddress ?? `127.0.0.1:${fixedPort}`}", idle_timeout_seconds: ${version.fixedIdleSeconds ?? 600} }
${version.extraSource !== undefined ? `  extra: { type: syslog, mode: tcp, address: "${version.extraSource}" }\n` : ''}sinks:
  soc: { type: redis_streams, max_len: ${version.sinkMaxLen ?? 1000000} }
${version.mlKeyring !== undefined ? `profiles:\n  ml: { type: ml, keyring: "${version.mlKeyring}" }\n` : ''}${
        version.state
          ? `sessions:
  methods:
    idp: { type: hard-timeout, seconds: 600 }
counters:
  - { name: traffic, when: { event.code: "0000000013" }, key: [observer.name], window_seconds: 3600, bucket_seconds: 60 }
`
          : ''
      }api: { tokens_file: "${join(dir, 'tokens.yaml')}" }
`,
    );
  };

  beforeAll(async () => {
    fixedPort = await freePort();
    writeFileSync(join(dir, 'tokens.yaml'), `tokens:\n  - { name: ops, token: "${TOKEN}", roles: [read, write] }\n`, { mode: 0o600 });
    write();
    running = await startWorker({ pipelineFile, redisUrl: testRedisUrl(), logger: pino({ level: 'silent' }), api: '127.0.0.1:0' });
    running.onReload((event) => {
      events.push(event);
    });
    base = `http://127.0.0.1:${running.api!.address().port}`;
    const a = running.worker.addresses().a!;
    sender = await startNumberedSender(a.host, a.port, { perTick: 5, tickMs: 5 });
    await waitFor(() => redis.xlen(`${prefix}events:soc`), (n) => n >= 100);
  });

  afterAll(async () => {
    await sender?.stop().catch(() => undefined);
    await running?.shutdown();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds sessions and counters, replaces a sink and rebinds a source on its own address; the API follows', async () => {
    const identity = await fetch(`${base}/v1/identity/events`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'login', user: 'dana', source_ip: '192.0.2.7' }] }),
    });
    expect(identity.status).toBe(404);

    write({ state: true, sinkMaxLen: 2_000_000, fixedIdleSeconds: 30 });
    const outcome = await running.reload();
    expect(outcome).toMatchObject({
      result: 'applied',
      problems: [],
      changes: { changed: { sources: ['fixed'], sinks: ['soc'], settings: ['sessions', 'counters'] } },
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.diff.parts.sinks.changed).toEqual(['soc']);
    expect(running.worker.config.sources.fixed?.idle_timeout_seconds).toBe(30);

    // The rebound listener takes logs on the same port.
    expect(running.worker.addresses().fixed?.port).toBe(fixedPort);
    await sendStream('127.0.0.1', fixedPort, [numberedTraffic(0)], 'octet');

    const login = await fetch(`${base}/v1/identity/events`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'login', user: 'dana', source_ip: '192.0.2.7' }] }),
    });
    expect(login.status).toBe(200);
    const sessions = (await (await fetch(`${base}/v1/sessions?ip=192.0.2.7`, { headers: AUTH })).json()) as { sessions: { timeout_seconds: number }[] };
    expect(sessions.sessions[0]?.timeout_seconds).toBe(600);
    const counter = await waitFor(
      async () => (await (await fetch(`${base}/v1/counters/traffic?key=fw-e2e`, { headers: AUTH })).json()) as { value?: number },
      (reading) => (reading.value ?? 0) >= 50,
    );
    expect(counter.value).toBeGreaterThanOrEqual(50);
  });

  it('refuses a source whose address is taken and keeps the old one; counts the reload as rejected', async () => {
    const foreign: Server = createServer();
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    const taken = (foreign.address() as { port: number }).port;
    try {
      write({ state: true, sinkMaxLen: 2_000_000, fixedIdleSeconds: 30, fixedAddress: `127.0.0.1:${taken}` });
      const moved = await running.reload();
      expect(moved.result).toBe('rejected');
      expect(moved.problems[0]).toMatch(/^sources\.fixed: .*EADDRINUSE/);
      expect(await accepts(fixedPort)).toBe(true);
      expect(running.worker.config.sources.fixed?.address).toBe(`127.0.0.1:${fixedPort}`);

      // A new source on a taken address is refused alone; the rest of the reload applies.
      write({ state: true, sinkMaxLen: 3_000_000, fixedIdleSeconds: 30, extraSource: `127.0.0.1:${taken}` });
      const partial = await running.reload();
      expect(partial).toMatchObject({ result: 'applied', changes: { added: { sources: ['extra'] }, changed: { sinks: ['soc'] } } });
      expect(partial.problems[0]).toMatch(/^sources\.extra: /);
      expect(running.worker.addresses().extra).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => foreign.close(() => resolve()));
    }
  });

  it('rejects a profile whose keyring cannot be opened, and adds it once the keyring exists', async () => {
    write({ state: true, sinkMaxLen: 3_000_000, fixedIdleSeconds: 30, mlKeyring: keyringFile });
    const missing = await running.reload();
    expect(missing.result).toBe('rejected');
    expect(missing.problems.join('\n')).toContain(keyringFile);
    expect(running.worker.namedStreams().ml).toBeUndefined();

    writeFileSync(keyringFile, JSON.stringify({ current: 'k1', keys: [{ id: 'k1', secret_base64: randomBytes(32).toString('base64') }] }), { mode: 0o600 });
    const added = await running.reload();
    expect(added).toMatchObject({ result: 'applied', changes: { added: { profiles: ['ml'] } } });
    await waitFor(() => redis.xlen(`${prefix}events:ml`), (n) => n >= 20);
    // The SSE route knows the new profile's stream.
    const sse = await fetch(`${base}/v1/events/ml`, { headers: AUTH, signal: AbortSignal.timeout(2000) });
    expect(sse.status).toBe(200);
    await sse.body?.cancel();
  });

  it('drops the state stage when sessions and counters go, and loses or repeats no event through it all', async () => {
    write({ sinkMaxLen: 3_000_000, fixedIdleSeconds: 30 });
    const outcome = await running.reload();
    expect(outcome).toMatchObject({ result: 'applied', changes: { removed: { profiles: ['ml'] }, changed: { settings: ['sessions', 'counters'] } } });
    expect(running.worker.state).toBeUndefined();
    expect((await fetch(`${base}/v1/decision?ip=192.0.2.7`, { headers: AUTH })).status).toBe(404);

    const metrics = await (await fetch(`${base}/metrics`, { headers: AUTH })).text();
    expect(metrics).toMatch(/^fortistream_reloads_total\{result="applied"\} 4$/m);
    expect(metrics).toMatch(/^fortistream_reloads_total\{result="rejected"\} 2$/m);

    const total = await sender.stop();
    const numbers = await waitFor(
      async () => numbersOf(await redis.xrange(`${prefix}events:soc`, '-', '+')).filter((n) => n > 0),
      (found) => found.length >= total,
      20_000,
    );
    expect(numbers).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});
