import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fortigateLine, waitFor } from '../support/fortigate-lines.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../support/redis.js';
import { CLI, startWorkerProcess, writePipeline } from '../support/worker-process.js';

const T0 = Date.UTC(2026, 11, 4, 10, 0, 0);

function cli(args: string[], input?: string) {
  const run = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `count` numbered traffic lines (`sessionid` = the line's number) and, after the first, one binary line. */
function logFile(count: number, withGarbage: boolean): string {
  const lines: Buffer[] = [];
  for (let i = 1; i <= count; i += 1) {
    lines.push(fortigateLine(T0 + i, `logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.0.0.${i % 250} dstip=198.51.100.9 dstport=443 proto=6 action="close" policyid=7 sessionid=${i}`));
    if (withGarbage && i === 1) lines.push(Buffer.from([0x00, 0xff, 0xfe, 0x01]));
  }
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-replay-'));
  const file = join(dir, 'fortigate.log');
  writeFileSync(file, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
  return file;
}

function pipelineFor(prefix: string, extra = ''): string {
  return writePipeline(`
redis:
  key_prefix: "${prefix}"
  writer_lease_seconds: 3
pipeline:
  buffer_max_bytes: 1048576
  batch_max_wait_ms: 5
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
${extra}`);
}

/** The sessionid of every entry, in stream order. */
async function sessionIds(redis: Redis, stream: string): Promise<number[]> {
  const rows = await redis.xrange(stream, '-', '+');
  return rows.map(([, fields]) => Number(fields[fields.indexOf('fortinet.firewall.sessionid') + 1]));
}

describe('fortistream replay', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = testRedisClient();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('writes every line of a file larger than the buffer, in order, and dead-letters the bad one with its reason', async () => {
    const prefix = uniquePrefix('replay');
    const file = logFile(20_000, true);
    const { code, stdout, stderr } = cli(['replay', file, '--pipeline', pipelineFor(prefix), '--redis', testRedisUrl(), '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ files: 1, frames: 20_001, events: 20_000, dead: { binary: 1 }, written: true, streams: { events: [`${prefix}events:soc`] } });
    const ids = await sessionIds(redis, `${prefix}events:soc`);
    expect(ids).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
    const [first] = await redis.xrange(`${prefix}events:soc`, '-', '+', 'COUNT', 1);
    const fields = first?.[1] ?? [];
    expect(fields[fields.indexOf('fortistream.source') + 1]).toBe('replay');
    expect(fields[fields.indexOf('log.source.address') + 1]).toBe(`file:${file}`);
    const dead = await redis.xrange(`${prefix}dead`, '-', '+');
    expect(dead).toHaveLength(1);
    expect(dead[0]?.[1]).toEqual(expect.arrayContaining(['reason', expect.stringContaining('binary')]));
  });

  it('refuses an unreadable file before writing anything', () => {
    const prefix = uniquePrefix('replay-missing');
    const { code, stderr } = cli(['replay', logFile(3, false), '/nonexistent/fortigate.log', '--pipeline', pipelineFor(prefix), '--redis', testRedisUrl()]);
    expect(code).toBe(5);
    expect(stderr).toContain('FST_INPUT_UNREADABLE');
  });

  it('beside a running worker on the same streams: refuses to write itself, and --to sends the file to that worker', async () => {
    const prefix = uniquePrefix('replay-live');
    const pipeline = pipelineFor(prefix);
    const worker = await startWorkerProcess(['--pipeline', pipeline, '--redis', testRedisUrl()], 1);
    try {
      const file = logFile(500, false);
      const refused = cli(['replay', file, '--pipeline', pipeline, '--redis', testRedisUrl()]);
      expect(refused.code).toBe(8);
      expect(refused.stderr).toContain('FST_WRITER_CONFLICT');
      expect(await redis.xlen(`${prefix}events:soc`)).toBe(0);

      const { host, port } = worker.addresses.tcp_in as { host: string; port: number };
      const sent = cli(['replay', file, '--to', `tcp://${host}:${port}`, '--json']);
      expect(sent.code).toBe(0);
      expect(JSON.parse(sent.stdout)).toMatchObject({ frames: 500, unframed: 0 });
      await waitFor(() => redis.xlen(`${prefix}events:soc`), (n) => n >= 500);
      expect(await sessionIds(redis, `${prefix}events:soc`)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    } finally {
      await worker.stop();
    }
  });

  it('--to a port where nothing listens fails with FST_SEND_FAILED', () => {
    const { code, stderr } = cli(['replay', logFile(2, false), '--to', 'tcp://127.0.0.1:1']);
    expect(code).toBe(9);
    expect(stderr).toContain('FST_SEND_FAILED');
  });
});
