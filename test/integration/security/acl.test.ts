import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineFile } from '../../../src/config/load.js';
import { sendStream } from '../../../src/demo/send.js';
import { startPrivateRedis, type PrivateRedis } from '../../../src/runtime/redis-server.js';
import { createActionQueue } from '../../../src/actions/queue.js';
import { startActionRunner } from '../../../src/actions/runner.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { bullmqLuaCommands, BULLMQ_REVIEWED_DYNAMIC_CALLS, deriveAclRules, luaCommands, type AclRules } from '../../../src/security/acl.js';
import { fortiosError, startFakeFortios, TEST_CA_FILE } from '../../support/fake-fortios.js';
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

  it('runs the actions queue and runner (BullMQ) as the worker user of a pipeline with devices: nothing is refused', async () => {
    const fortios = await startFakeFortios();
    const actionsPipeline = loadPipelineFile(
      writePipeline(`
redis:
  key_prefix: "${PREFIX}"
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
devices:
  fgt_acl: { base_url: "${fortios.url}", token_env: FST_ACL_TEST_TOKEN, ca_file: "${TEST_CA_FILE}", max_calls_per_second: 20 }
  fgt_dry: { base_url: "${fortios.url}", token_env: FST_ACL_TEST_TOKEN, dry_run: true }
actions:
  attempts: 2
  backoff_initial_ms: 20
`),
      { env: { ...process.env } },
    ).pipeline;
    const actionRules = deriveAclRules(actionsPipeline, { users: { worker: 'fortistream-actions-worker' }, passwords: { worker: { plain: password.worker } } });
    expect(actionRules.worker).toContain(`~${PREFIX}*`);
    for (const command of ['bzpopmin', 'evalsha', 'multi', 'exec', 'lpush', 'rpoplpush', 'pttl', 'set']) expect(actionRules.commands.worker).toContain(command);
    expect(actionRules.commands.worker).not.toContain('client|list');
    // A BullMQ upgrade that adds a script call with a computed command name must be reviewed here.
    expect(bullmqLuaCommands().dynamicCalls).toBe(BULLMQ_REVIEWED_DYNAMIC_CALLS);
    await admin.call('ACL', 'SETUSER', actionRules.users.worker, ...actionRules.worker.split(' '));
    await admin.call('ACL', 'LOG', 'RESET');

    const aclUrl = `redis://${actionRules.users.worker}:${password.worker}@127.0.0.1:${server.port}`;
    const asWorker = new Redis(aclUrl, { maxRetriesPerRequest: 2 });
    const settings = actionsPipeline.actions!;
    const devices = actionsPipeline.devices!;
    const queue = createActionQueue({ redisUrl: aclUrl, prefix: PREFIX, settings, devices });
    const runner = await startActionRunner({
      redisUrl: aclUrl,
      prefix: PREFIX,
      settings,
      devices,
      audit: { stream: `${PREFIX}audit`, maxLen: 1000 },
      redis: asWorker,
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      env: { FST_ACL_TEST_TOKEN: 'acl-test-token' },
    });
    try {
      fortios.script('/api/v2/monitor/user/banned/add_users', fortiosError(503));
      fortios.script('/api/v2/monitor/user/firewall/deauth', fortiosError(400, -3));
      const retried = await queue.enqueue({ type: 'ban-ip', device: 'fgt_acl', ip: '198.51.100.1', expirySeconds: 60, reason: 'acl' });
      const refused = await queue.enqueue({ type: 'deauth-user', device: 'fgt_acl', ip: '198.51.100.2', method: 'firewall', reason: 'acl' });
      const burst = await Promise.all(
        Array.from({ length: 4 }, (_, i) => queue.enqueue({ type: 'unban-ip', device: 'fgt_acl', ip: `198.51.100.${10 + i}`, reason: 'acl' })),
      );
      const duplicate = await queue.enqueue({ type: 'unban-ip', device: 'fgt_acl', ip: '198.51.100.10', reason: 'acl' });
      expect(duplicate).toEqual({ jobId: burst[0]!.jobId, duplicate: true });
      await queue.enqueue({ type: 'deauth-user', device: 'fgt_dry', ip: '198.51.100.3', method: 'firewall', reason: 'acl' });

      const jobs = await waitFor(() => queue.list(), (list) => list.filter((j) => j.state === 'completed' || j.state === 'failed').length >= 7, 15_000);
      expect(jobs.find((j) => j.id === retried.jobId)?.state).toBe('completed');
      expect(jobs.find((j) => j.id === refused.jobId)?.state).toBe('failed');
      expect(await queue.counts()).toMatchObject({ completed: 6, failed: 1 });

      // The CLI as the worker user: list failed jobs, retry one.
      const actionsCli = (...args: string[]): ReturnType<typeof spawnSync> =>
        spawnSync(process.execPath, [CLI, 'actions', ...args, '--pipeline', pipelineFile, '--redis', aclUrl], { encoding: 'utf8', timeout: 20_000 });
      const failed = actionsCli('--failed', '--json');
      expect(failed.status, String(failed.stderr)).toBe(0);
      expect(JSON.parse(String(failed.stdout))).toEqual([expect.objectContaining({ id: refused.jobId, state: 'failed' })]);
      const retry = actionsCli('retry', refused.jobId);
      expect(retry.status, String(retry.stderr)).toBe(0);
      await waitFor(() => queue.counts(), (counts) => counts.completed === 7, 15_000);

      const outcomes = (await admin.xrange(`${PREFIX}audit`, '-', '+')).map(([, fields]) => fields[fields.indexOf('event.action') + 1]);
      expect(outcomes.filter((o) => o?.startsWith('action.')).sort()).toEqual(
        ['action.dry_run', 'action.failed', 'action.retrying', ...Array.from({ length: 6 }, () => 'action.succeeded')].sort(),
      );
      const denied = (await admin.call('ACL', 'LOG')) as unknown[];
      expect(denied).toEqual([]);
    } finally {
      await runner.close();
      await queue.close();
      await asWorker.quit().catch(() => asWorker.disconnect());
      await fortios.close();
    }
  });
});
