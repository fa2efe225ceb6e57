import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream, sendUdp, splitLines } from '../../src/demo/send.js';
import { parseFrame } from '../../src/parse/index.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { startWorkerProcess, writePipeline, type WorkerProcess } from '../support/worker-process.js';

const SAMPLES = join(process.cwd(), 'samples');
const TLS = join(process.cwd(), 'test', 'fixtures', 'tls');
const good = splitLines(readFileSync(join(SAMPLES, 'fortigate-sample.log')));
const bad = splitLines(readFileSync(join(SAMPLES, 'fortigate-bad.log')));
const badExpected = JSON.parse(readFileSync(join(SAMPLES, 'fortigate-bad.expected.json'), 'utf8')) as Array<{ code: string }>;

/** Fields that depend on when and how a line arrived, not on the line. */
const TRANSPORT_FIELDS = new Set(['event.ingested', 'fortistream.source', 'log.source.address']);

function stableEntry(fields: readonly string[]): string {
  const pairs: string[] = [];
  // A line without any time of its own is stamped with its arrival time.
  const arrivalStamped = fields.includes('fortistream.time_source') && fields[fields.indexOf('fortistream.time_source') + 1] === 'received';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    if (TRANSPORT_FIELDS.has(name) || (arrivalStamped && name === '@timestamp')) continue;
    pairs.push(`${name}=${fields[i + 1]}`);
  }
  return pairs.sort().join('\u0001');
}

async function waitForLength(redis: Redis, stream: string, length: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let current = 0;
  while (Date.now() < deadline) {
    current = await redis.xlen(stream);
    if (current >= length) return current;
    await new Promise((r) => setTimeout(r, 50));
  }
  return current;
}

describe('worker process: the same fixtures over UDP, TCP (octet), TCP (LF) and TLS', () => {
  const prefix = uniquePrefix('e2e');
  const redis = new Redis(testRedisUrl());
  let worker: WorkerProcess;

  beforeAll(async () => {
    const pipeline = writePipeline(`
redis:
  key_prefix: "${prefix}"
pipeline:
  batch_max_wait_ms: 5
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:0" }
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
  tls_in:
    type: syslog
    mode: tls
    address: "127.0.0.1:0"
    tls:
      cert_file: "${join(TLS, 'server.crt')}"
      key_file: "${join(TLS, 'server.key')}"
sinks:
  soc: { type: redis_streams }
`);
    worker = await startWorkerProcess(['--pipeline', pipeline, '--redis', testRedisUrl()], 3);
  });

  afterAll(async () => {
    await worker?.stop();
    await redis.quit();
  });

  it('logs one JSON line per listener it opened', () => {
    const listening = worker.logs.filter((l) => l.msg === 'listening').map((l) => l.source);
    expect(listening.sort()).toEqual(['tcp_in', 'tls_in', 'udp_in']);
  });

  it('finds every good line in the stream and every bad line in dead letters with its reason', async () => {
    const a = worker.addresses;
    const udp = a.udp_in!;
    const tcp = a.tcp_in!;
    const tls = a.tls_in!;
    await sendUdp(udp.host, udp.port, [...good, ...bad]);
    await sendStream(tcp.host, tcp.port, [...good, ...bad], 'octet');
    await sendStream(tcp.host, tcp.port, [...good, ...bad], 'lf');
    await sendStream(tls.host, tls.port, [...good, ...bad], 'octet', {
      ca: readFileSync(join(TLS, 'ca.crt')),
      servername: 'localhost',
    });

    const events = `${prefix}events:soc`;
    const dead = `${prefix}dead`;
    expect(await waitForLength(redis, events, good.length * 4)).toBe(good.length * 4);

    // Every transport delivered exactly the events the parser makes of the fixture lines.
    const expected = good.map((line) => {
      const result = parseFrame(line, { source: 'x', peer: 'x', receivedAtMs: 0 });
      if (!result.ok) throw new Error(`fixture line does not parse: ${result.reason}`);
      return stableEntry(result.event.fields);
    });
    const entries = await redis.xrange(events, '-', '+');
    const bySource = new Map<string, string[]>();
    for (const [, fields] of entries) {
      const source = fields[fields.indexOf('fortistream.source') + 1] as string;
      const peer = fields[fields.indexOf('log.source.address') + 1] as string;
      expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
      bySource.set(source, [...(bySource.get(source) ?? []), stableEntry(fields)]);
    }
    expect([...bySource.keys()].sort()).toEqual(['tcp_in', 'tls_in', 'udp_in']);
    for (const [source, got] of bySource) {
      expect(got.length, source).toBe(good.length * (source === 'tcp_in' ? 2 : 1));
      const want = source === 'tcp_in' ? [...expected, ...expected] : expected;
      expect([...got].sort(), source).toEqual([...want].sort());
    }
    // TCP keeps order within a connection.
    const tlsInOrder = bySource.get('tls_in')!;
    expect(tlsInOrder).toEqual(expected);

    // Every bad line arrives in dead letters once per transport, with its reason.
    expect(await waitForLength(redis, dead, bad.length * 4)).toBe(bad.length * 4);
    const letters = (await redis.xrange(dead, '-', '+')).map(([, fields]) => {
      const letter: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) letter[fields[i] as string] = fields[i + 1] as string;
      return letter;
    });
    const wantCodes = badExpected.map((b) => b.code);
    for (const source of ['udp_in', 'tcp_in', 'tls_in']) {
      const codes = letters.filter((l) => l.source === source).map((l) => l.code as string);
      const want = source === 'tcp_in' ? [...wantCodes, ...wantCodes] : wantCodes;
      expect([...codes].sort(), source).toEqual([...want].sort());
    }
    for (const letter of letters) {
      expect(letter.reason, JSON.stringify(letter)).toBeTruthy();
      expect(letter.stage).toBe('parse');
      expect(letter.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(letter.raw).not.toMatch(/[\u0000-\u001f]/);
    }
  });

  it('exits 0 on SIGTERM after flushing', async () => {
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});
