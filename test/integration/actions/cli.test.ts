import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fortiosError } from '../../support/fake-fortios.js';
import { testRedisUrl } from '../../support/redis.js';
import { CLI, writePipeline } from '../../support/worker-process.js';
import { startActionKit, type ActionKit } from './action-kit.js';

const BAN = '/api/v2/monitor/user/banned/add_users';

describe('fortistream actions (the built CLI): list failed jobs, retry one', () => {
  let kit: ActionKit;
  let pipelineFile: string;
  const cli = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [CLI, ...args, '--pipeline', pipelineFile, '--redis', testRedisUrl()], { encoding: 'utf8', timeout: 20_000 });

  beforeAll(async () => {
    kit = await startActionKit({ devices: { fgt_hq: { max_calls_per_second: 1000 } }, actions: { attempts: 2 } });
    pipelineFile = writePipeline(`
redis:
  key_prefix: "${kit.prefix}"
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
devices:
  fgt_hq: { base_url: "${kit.fortios.url}", token_env: FGT_TOKEN_NOT_NEEDED_TO_LIST }
actions:
  attempts: 2
`);
  });

  afterAll(async () => {
    await kit?.close();
  });

  it('has --help for actions and actions retry', () => {
    for (const args of [['actions', '--help'], ['actions', 'retry', '--help']]) {
      const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
      expect(run.status).toBe(0);
      expect(String(run.stdout)).toContain(`Usage: fortistream ${args.slice(0, -1).join(' ')}`);
    }
  });

  it('lists a job refused with 403 under --failed, retries it, and refuses to retry what has not failed', async () => {
    kit.fortios.script(BAN, fortiosError(403, -37, { cli_error: 'permission denied' }));
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '203.0.113.99', expirySeconds: 300, reason: 'cli test' });
    await kit.waitForJob(jobId, 'failed');

    const listed = cli('actions', '--failed', '--json');
    expect(listed.status, String(listed.stderr)).toBe(0);
    expect(JSON.parse(String(listed.stdout))).toEqual([
      expect.objectContaining({
        id: jobId,
        type: 'ban-ip',
        device: 'fgt_hq',
        target: '203.0.113.99',
        state: 'failed',
        attempts: 1,
        max_attempts: 2,
        last_error: 'fgt_hq: HTTP 403, FortiOS error -37: permission denied',
        reason: 'cli test',
      }),
    ]);
    const table = cli('actions');
    expect(table.status, String(table.stderr)).toBe(0);
    expect(String(table.stdout)).toMatch(/^ID\s+TYPE\s+DEVICE\s+TARGET\s+STATE\s+ATTEMPTS\s+WHEN\s+LAST ERROR/);
    expect(String(table.stdout)).toContain(jobId);
    expect(String(table.stdout)).toContain('HTTP 403');

    const retried = cli('actions', 'retry', jobId);
    expect(retried.status, String(retried.stderr)).toBe(0);
    expect(String(retried.stdout)).toContain(`job ${jobId} (ban-ip 203.0.113.99 on fgt_hq) is waiting again`);
    await kit.waitForJob(jobId, 'completed');
    expect(kit.fortios.requestsTo(BAN)).toHaveLength(2);
    const outcomes = (await kit.audit()).filter((e) => e['action.id'] === jobId).map((e) => e['event.action']);
    expect(outcomes).toEqual(['action.failed', 'action.succeeded']);

    const none = cli('actions', '--failed', '--json');
    expect(JSON.parse(String(none.stdout))).toEqual([]);

    const again = cli('actions', 'retry', jobId);
    expect(again.status).toBe(7);
    expect(String(again.stderr)).toContain(`FST_ACTION_NOT_RETRYABLE: job ${jobId} is completed, not failed`);
    const missing = cli('actions', 'retry', 'no-such-job');
    expect(missing.status).toBe(7);
    expect(String(missing.stderr)).toContain('FST_ACTION_NOT_RETRYABLE: no job no-such-job');
  });
});
