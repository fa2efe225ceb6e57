import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream } from '../../src/demo/send.js';
import { authLines, waitFor } from '../support/fortigate-lines.js';
import { numbersOf, startNumberedSender, type NumberedSender } from '../support/numbered-sender.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { CLI, startWorkerProcess, writePipeline, type WorkerProcess } from '../support/worker-process.js';

const { firewallAuth } = authLines();

interface Version {
  readonly counters?: string;
  readonly profiles?: string;
  readonly firewallSeconds?: number;
  readonly extraSource?: boolean;
}

/** The pipeline under test; each reload rewrites it with another `Version`. */
function pipelineYaml(prefix: string, version: Version = {}): string {
  return `
redis:
  key_prefix: "${prefix}"
pipeline:
  batch_max_events: 50
  batch_max_wait_ms: 5
sources:
  tcp_a: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
${version.extraSource ? '  tcp_b: { type: syslog, mode: tcp, address: "127.0.0.1:0" }\n' : ''}sinks:
  soc: { type: redis_streams }
sessions:
  methods:
    firewall: { type: idle-timeout, seconds: ${version.firewallSeconds ?? 300} }
  rules:
    - { name: firewall-auth, when: { event.code: "0102043008" }, do: open, method: firewall }
counters:
  - { name: all_traffic, when: { event.code: "0000000013" }, key: [observer.name], window_seconds: 3600, bucket_seconds: 60 }
${version.counters ?? ''}
${version.profiles ?? ''}
`;
}

const AFTER_COUNTER = '  - { name: after_reload, when: { event.code: "0000000013" }, key: [observer.name], window_seconds: 3600, bucket_seconds: 60 }';
const SOCVIEW = 'profiles:\n  socview: { type: soc, stream: "events:socview" }';

function logsAfter(worker: WorkerProcess, from: number, message: string): Record<string, unknown>[] {
  return worker.logs.slice(from).filter((line) => line.msg === message);
}

async function nextLog(worker: WorkerProcess, from: number, messages: readonly string[]): Promise<Record<string, unknown>> {
  const found = await waitFor(
    () => worker.logs.slice(from).find((line) => messages.includes(String(line.msg))),
    (line) => line !== undefined,
    10_000,
  );
  if (!found) throw new Error(`no log line ${messages.join(' | ')}; logs: ${JSON.stringify(worker.logs.slice(from))}`);
  return found;
}

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function counterValue(pipelineFile: string, name: string): Promise<number> {
  const run = spawnSync(process.execPath, [CLI, 'counters', name, '--key', 'fw-e2e', '--json', '--pipeline', pipelineFile, '--redis', testRedisUrl()], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(run.stderr);
  const reading = JSON.parse(run.stdout) as { keys: Array<{ key: string; value: number }> };
  return reading.keys.find((k) => k.key === 'fw-e2e')?.value ?? 0;
}

const RELOADED = 'pipeline reloaded';
const REJECTED = 'pipeline reload rejected; the running pipeline stays in force';

describe('worker process: hot reload of the pipeline file while traffic flows', () => {
  const prefix = uniquePrefix('e2e-reload');
  const redis = new Redis(testRedisUrl());
  let worker: WorkerProcess;
  let file: string;
  let sender: NumberedSender;

  beforeAll(async () => {
    file = writePipeline(pipelineYaml(prefix));
    worker = await startWorkerProcess(['--pipeline', file, '--redis', testRedisUrl()], 1);
    const { host, port } = worker.addresses.tcp_a!;
    sender = await startNumberedSender(host, port);
  });

  afterAll(async () => {
    await sender?.stop().catch(() => undefined);
    await worker?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('applies valid rewrites, refuses invalid ones, and loses or repeats no event', async () => {
    await waitFor(() => redis.xlen(`${prefix}events:soc`), (n) => n >= 200);

    // 1. Valid: a new counter, a new profile, a new source and a longer firewall session timeout.
    let mark = worker.logs.length;
    writeFileSync(file, pipelineYaml(prefix, { counters: AFTER_COUNTER, profiles: SOCVIEW, firewallSeconds: 1200, extraSource: true }));
    const applied = await nextLog(worker, mark, [RELOADED, REJECTED]);
    expect(applied).toMatchObject({
      msg: RELOADED,
      trigger: 'file',
      changes: {
        added: { sources: ['tcp_b'], profiles: ['socview'], counters: ['after_reload'] },
        changed: { settings: ['sessions.methods'] },
      },
    });
    const b = await waitFor(() => worker.addresses.tcp_b, (address) => address !== undefined);
    expect(b).toBeDefined();
    // The new source takes logs, and a login after the reload gets the new timeout.
    await sendStream(b!.host, b!.port, [firewallAuth(Date.now())], 'octet');
    const session = await waitFor(
      () => {
        const run = spawnSync(process.execPath, [CLI, 'sessions', '--json', '--user', 'erin', '--pipeline', file, '--redis', testRedisUrl()], { encoding: 'utf8' });
        return run.status === 0 ? (JSON.parse(run.stdout) as Array<{ timeout_seconds: number }>) : [];
      },
      (found) => found.length === 1,
    );
    expect(session[0]?.timeout_seconds).toBe(1200);
    await waitFor(() => redis.xlen(`${prefix}events:socview`), (n) => n >= 100);

    // 2. Invalid YAML, then an invalid value: both refused with the reason; the running pipeline carries on.
    mark = worker.logs.length;
    writeFileSync(file, 'sources: [unclosed\n');
    const badYaml = await nextLog(worker, mark, [RELOADED, REJECTED]);
    expect(badYaml).toMatchObject({ msg: REJECTED, code: 'FST_CONFIG_UNREADABLE', reason: `${file} is not valid YAML` });
    mark = worker.logs.length;
    writeFileSync(file, pipelineYaml(prefix, { counters: AFTER_COUNTER.replace('bucket_seconds: 60', 'bucket_seconds: 7'), profiles: SOCVIEW, extraSource: true }));
    const badValue = await nextLog(worker, mark, [RELOADED, REJECTED]);
    expect(badValue).toMatchObject({ msg: REJECTED, code: 'FST_CONFIG_INVALID' });
    expect(badValue.problems).toEqual([`${file}: counters.1.bucket_seconds: bucket_seconds (7) must divide window_seconds (3600)`]);
    const socviewBefore = await redis.xlen(`${prefix}events:socview`);
    await waitFor(() => redis.xlen(`${prefix}events:socview`), (n) => n >= socviewBefore + 100);

    // 3. SIGHUP with the source removed again: tcp_b stops accepting, tcp_a keeps its connection.
    mark = worker.logs.length;
    writeFileSync(file, pipelineYaml(prefix, { counters: AFTER_COUNTER, profiles: SOCVIEW, firewallSeconds: 1200 }));
    worker.child.kill('SIGHUP');
    const removed = await nextLog(worker, mark, [RELOADED, REJECTED]);
    expect(removed).toMatchObject({ msg: RELOADED, changes: { removed: { sources: ['tcp_b'] } } });
    expect(await waitFor(() => refused(b!.port), (isRefused) => isRefused)).toBe(true);
    // The watcher may see the same rewrite after the signal did: it changes nothing then.
    await new Promise((r) => setTimeout(r, 500));
    expect(logsAfter(worker, mark, RELOADED)).toHaveLength(1);

    // Every event exactly once, in order; the counters agree.
    const total = await sender.stop();
    const numbers = await waitFor(
      async () => numbersOf(await redis.xrange(`${prefix}events:soc`, '-', '+')),
      (found) => found.length >= total,
      20_000,
    );
    expect(numbers.length).toBe(total);
    expect(numbers).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(await waitFor(() => counterValue(file, 'all_traffic'), (value) => value >= total)).toBe(total);

    // The profile got exactly the events from the switch on, and the new counter counted exactly those.
    const socview = numbersOf(await redis.xrange(`${prefix}events:socview`, '-', '+'));
    const first = socview[0] ?? 0;
    expect(first).toBeGreaterThan(1);
    expect(socview).toEqual(Array.from({ length: total - first + 1 }, (_, i) => first + i));
    expect(await counterValue(file, 'after_reload')).toBe(socview.length);
  });
});

describe('worker process: run --no-watch reloads on SIGHUP only', () => {
  const prefix = uniquePrefix('e2e-hup');
  const redis = new Redis(testRedisUrl());
  let worker: WorkerProcess;
  let file: string;

  beforeAll(async () => {
    file = writePipeline(pipelineYaml(prefix));
    worker = await startWorkerProcess(['--pipeline', file, '--redis', testRedisUrl(), '--no-watch'], 1);
  });

  afterAll(async () => {
    await worker?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('ignores the rewrite until SIGHUP, then applies it with no event lost or repeated', async () => {
    const { host, port } = worker.addresses.tcp_a!;
    const sender = await startNumberedSender(host, port);
    try {
      await waitFor(() => redis.xlen(`${prefix}events:soc`), (n) => n >= 100);
      const mark = worker.logs.length;
      writeFileSync(file, pipelineYaml(prefix, { counters: AFTER_COUNTER }));
      await new Promise((r) => setTimeout(r, 1000));
      expect(logsAfter(worker, mark, RELOADED)).toEqual([]);
      worker.child.kill('SIGHUP');
      const applied = await nextLog(worker, mark, [RELOADED, REJECTED]);
      expect(applied).toMatchObject({ msg: RELOADED, trigger: 'signal', changes: { added: { counters: ['after_reload'] } } });
      await waitFor(() => counterValue(file, 'after_reload'), (value) => value >= 100);
    } finally {
      const total = await sender.stop();
      const numbers = await waitFor(
        async () => numbersOf(await redis.xrange(`${prefix}events:soc`, '-', '+')),
        (found) => found.length >= total,
        20_000,
      );
      expect(numbers).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    }
  });
});
