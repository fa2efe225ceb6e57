import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineFile } from '../../../src/config/load.js';
import { sendStream } from '../../../src/demo/send.js';
import { startPrivateRedis, type PrivateRedis } from '../../../src/runtime/redis-server.js';
import { deriveAclRules, luaCommands, type AclRules } from '../../../src/security/acl.js';
import { DEFAULT_COUNTERS_YAML, DEFAULT_SESSIONS_YAML } from '../../../src/state/rules-defaults.js';
import { authLines, waitFor } from '../../support/fortigate-lines.js';
import { CLI, startWorkerProcess, writePipeline, type WorkerProcess } from '../../support/worker-process.js';

const { tunnelUp, traffic, failedLogin } = authLines({ name: 'fw-acl', serial: 'FGT60FACL0000001' });

const PREFIX = 'fortistream:';
const EVENTS = `${PREFIX}events:soc`;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'allowed';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

describe('fortistream acl: derived users on a private Redis', () => {
  let server: PrivateRedis;
  let admin: Redis;
  let worker: WorkerProcess | undefined;
  let pipelineFile: string;
  let rules: AclRules;
  const password = { worker: randomBytes(24).toString('hex'), reader: randomBytes(24).toString('hex'), consumer: randomBytes(24).toString('hex') };
  const url = (role: keyof typeof password): string => `redis://${rules.users[role]}:${password[role]}@127.0.0.1:${server.port}`;
  const cli = (role: keyof typeof password, ...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [CLI, ...args, '--redis', url(role)], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, REDIS_URL: '' } });

  beforeAll(async () => {
    server = await startPrivateRedis();
    admin = new Redis(server.url);
    pipelineFile = writePipeline(`
redis:
  key_prefix: "${PREFIX}"
pipeline:
  batch_max_wait_ms: 5
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
${DEFAULT_SESSIONS_YAML}
${DEFAULT_COUNTERS_YAML}
`);
    rules = deriveAclRules(loadPipelineFile(pipelineFile).pipeline, {
      passwords: { worker: { plain: password.worker }, reader: { plain: password.reader }, consumer: { plain: password.consumer } },
    });
    for (const role of ['worker', 'reader', 'consumer'] as const) {
      await admin.call('ACL', 'SETUSER', rules.users[role], ...rules[role].split(' '));
    }
    await admin.call('ACL', 'LOG', 'RESET');
    worker = await startWorkerProcess(['--pipeline', pipelineFile, '--redis', url('worker'), '--log-level', 'info'], 1);
  });

  afterAll(async () => {
    await worker?.stop();
    await admin?.quit().catch(() => undefined);
    await server?.stop();
  });

  it('grants every command the Lua scripts run, and nothing outside the prefix', () => {
    expect(rules.worker).toContain(`~${PREFIX}*`);
    expect(rules.worker).not.toMatch(/(^| )(~\*|allkeys|allcommands|\+@all|&|allchannels)( |$)/);
    expect(rules.reader).toContain(`%R~${PREFIX}*`);
    expect(rules.reader).not.toMatch(/(^| )~/);
    for (const command of ['hset', 'hincrby', 'zadd', 'zrangebyscore', 'pexpire', 'object|encoding', 'xadd', 'evalsha', 'eval']) {
      expect(rules.commands.worker).toContain(command);
    }
    for (const command of ['xadd', 'hset', 'set', 'del', 'eval', 'evalsha', 'xack', 'xgroup|create']) expect(rules.commands.reader).not.toContain(command);
    expect(rules.commands.consumer).toEqual(expect.arrayContaining(['xreadgroup', 'xack', 'xautoclaim', 'xpending', 'xgroup|create', 'xadd']));
    expect(rules.consumer).toContain(`(~${PREFIX}*:dead +xadd)`);
    expect(luaCommands("redis.call('OBJECT', 'ENCODING', k) redis.pcall(\"hset\", k)")).toEqual(['object|encoding', 'hset']);
    expect(() => luaCommands('redis.call(op, k)')).toThrow(/non-literal/);
  });

  it('runs the worker as its ACL user: events, sessions, counters and alerts land, nothing is refused', async () => {
    const { host, port } = worker!.addresses.tcp_in!;
    const t0 = Math.floor((Date.now() - 60_000) / 1000) * 1000;
    await sendStream(host, port, [tunnelUp(t0), traffic(t0 + 1000), ...Array.from({ length: 6 }, (_, i) => failedLogin(t0 + 2000 + i * 1000))], 'octet');

    const events = await waitFor(() => admin.xlen(EVENTS), (n) => n >= 8);
    expect(events).toBe(8);
    expect(await waitFor(() => admin.xlen(`${PREFIX}alerts`), (n) => n >= 1)).toBe(1);
    expect(await admin.xlen(`${PREFIX}audit`)).toBeGreaterThanOrEqual(1);
    expect(await admin.xlen(`${PREFIX}dead`)).toBe(0);

    // Readers as the read-only user.
    const sessions = cli('reader', 'sessions', '--json', '--pipeline', pipelineFile, '--user', 'dave');
    expect(sessions.status, String(sessions.stderr)).toBe(0);
    expect(JSON.parse(String(sessions.stdout))).toEqual([expect.objectContaining({ user: 'dave', ip: '203.0.113.70', tunnel_ip: '10.212.134.200' })]);
    const allSessions = cli('reader', 'sessions', '--json', '--pipeline', pipelineFile);
    expect(allSessions.status, String(allSessions.stderr)).toBe(0);

    const counters = cli('reader', 'counters', 'failed_logins_per_user', '--json', '--pipeline', pipelineFile, '--at', new Date(t0 + 10_000).toISOString());
    expect(counters.status, String(counters.stderr)).toBe(0);
    const reading = JSON.parse(String(counters.stdout)) as { keys: Array<{ key: string; value: number }> };
    expect(reading.keys).toEqual([expect.objectContaining({ key: 'mallory', value: 6 })]);

    const tail = cli('reader', 'tail', EVENTS, '--from-start', '--count', '3', '--json');
    expect(tail.status, String(tail.stderr)).toBe(0);
    expect(String(tail.stdout).trim().split('\n')).toHaveLength(3);

    // Consumer-group reader: creates its group, reads and acks.
    const group = cli('consumer', 'tail', EVENTS, '--group', 'acl-test', '--from-start', '--count', '2', '--json');
    expect(group.status, String(group.stderr)).toBe(0);
    expect(String(group.stdout).trim().split('\n')).toHaveLength(2);
    const pending = (await admin.call('XPENDING', EVENTS, 'acl-test')) as [number, ...unknown[]];
    expect(Number(pending[0])).toBe(0);

    // The worker logged no write failure, and Redis denied nothing to any of our users.
    const failures = worker!.logs.filter((entry) => typeof entry.level === 'number' && entry.level >= 40);
    expect(failures).toEqual([]);
    const denied = (await admin.call('ACL', 'LOG')) as unknown[];
    expect(denied).toEqual([]);
  });

  it('refuses writes outside the prefix to the worker, and every write to the reader', async () => {
    const asWorker = new Redis(url('worker'), { maxRetriesPerRequest: 0 });
    const asReader = new Redis(url('reader'), { maxRetriesPerRequest: 0 });
    const asConsumer = new Redis(url('consumer'), { maxRetriesPerRequest: 0 });
    try {
      expect(await refusal(asWorker.set('other:key', 'x'))).toMatch(/NOPERM/);
      expect(await refusal(asWorker.xadd('other:stream', '*', 'a', 'b'))).toMatch(/NOPERM/);
      expect(await refusal(asWorker.eval("return redis.call('SET', KEYS[1], 'x')", 1, 'other:key'))).toMatch(/NOPERM/);
      expect(await refusal(asWorker.call('FLUSHALL'))).toMatch(/NOPERM/);
      expect(await refusal(asWorker.call('CONFIG', 'GET', 'dir'))).toMatch(/NOPERM/);
      expect(await refusal(asWorker.call('KEYS', '*'))).toMatch(/NOPERM/);
      expect(await asWorker.xadd(`${PREFIX}acl-check`, '*', 'a', 'b')).toMatch(/^\d+-\d+$/);

      expect(await refusal(asReader.xadd(EVENTS, '*', 'a', 'b'))).toMatch(/NOPERM/);
      expect(await refusal(asReader.set(`${PREFIX}x`, 'x'))).toMatch(/NOPERM/);
      expect(await refusal(asReader.del(EVENTS))).toMatch(/NOPERM/);
      expect(await refusal(asReader.xrange('other:stream', '-', '+'))).toMatch(/NOPERM/);
      expect(await asReader.xlen(EVENTS)).toBe(8);

      expect(await refusal(asConsumer.xadd(EVENTS, '*', 'a', 'b'))).toMatch(/NOPERM/);
      expect(await refusal(asConsumer.del(EVENTS))).toMatch(/NOPERM/);
      expect(await asConsumer.xadd(`${EVENTS}:dead`, '*', 'a', 'b')).toMatch(/^\d+-\d+$/);
      expect(await asReader.xlen(EVENTS)).toBe(8);
    } finally {
      for (const client of [asWorker, asReader, asConsumer]) await client.quit().catch(() => client.disconnect());
    }
  });
});
