import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createAlertActionDispatcher, type ActionEnqueuer } from '../../../src/actions/alert-actions.js';
import { createDeviceResolver } from '../../../src/actions/device-resolver.js';
import type { ActionJob } from '../../../src/actions/jobs.js';
import { revokeSessions } from '../../../src/actions/revoke.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import type { ActionableAlert } from '../../../src/state/stage.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { uniquePrefix } from '../../support/redis.js';
import { failedVpnLogin, testStateStage, useTestRedis } from '../../support/state-stage.js';

const T0 = Date.now() - 60_000;
const HQ = { name: 'fw-hq', serial: 'FGT60FHQ00000001' };
const logger = pino({ level: 'silent' });

/** A real enqueuer's contract (job id from the job + idempotency key, duplicates reported), recorded. */
function recordingQueue(failFirst = 0): ActionEnqueuer & { jobs: { job: ActionJob; key: string | undefined }[]; attempts: number } {
  const seen = new Set<string>();
  const queue = {
    jobs: [] as { job: ActionJob; key: string | undefined }[],
    attempts: 0,
    async enqueue(job: ActionJob, options?: { idempotencyKey?: string }) {
      queue.attempts += 1;
      if (queue.attempts <= failFirst) throw new Error('Connection is closed.');
      const jobId = `${job.type}|${'device' in job ? job.device : ''}|${'ip' in job ? job.ip : ''}|${options?.idempotencyKey ?? ''}`;
      const duplicate = seen.has(jobId);
      seen.add(jobId);
      if (!duplicate) queue.jobs.push({ job, key: options?.idempotencyKey });
      return { jobId, duplicate };
    },
  };
  return queue;
}

describe('counter threshold → ban-ip job', () => {
  const redis = useTestRedis();
  const counters = [
    {
      name: 'vpn_failed_by_ip',
      when: { 'event.code': '0101039426' },
      key: ['source.ip'],
      window_seconds: 300,
      bucket_seconds: 10,
      threshold: 3,
      action: { type: 'ban-ip', seconds: 3600 },
    },
  ];

  function stageWith(queue: ActionEnqueuer, listAdds: string[] = []) {
    let dispatch: (alerts: readonly ActionableAlert[]) => void = () => undefined;
    const { stage, prefix, metrics } = testStateStage(redis(), counters, { onActionAlerts: (alerts) => dispatch(alerts) });
    const dispatcher = createAlertActionDispatcher({
      queue,
      devices: createDeviceResolver({ hq: { serials: [HQ.serial], names: [] } }),
      lists: { add: async (list, address) => void listAdds.push(`${list}:${address}`) },
      logger,
      registry: metrics.registry,
      retryMaxMs: 50,
    });
    dispatch = (alerts) => dispatcher.dispatch(alerts);
    return { stage, dispatcher, prefix, metrics };
  }

  it('bans once per window however many events cross the threshold, on the device that logged them', async () => {
    const queue = recordingQueue();
    const lists: string[] = [];
    const { stage, dispatcher, prefix } = stageWith(queue, lists);
    // Two below the threshold, then a burst over it across three batches.
    await stage.write({ events: [failedVpnLogin(T0, '203.0.113.7', HQ), failedVpnLogin(T0 + 1000, '203.0.113.7', HQ)], dead: [] });
    expect(queue.jobs).toHaveLength(0);
    for (let b = 0; b < 3; b++) {
      await stage.write({ events: Array.from({ length: 5 }, (_, i) => failedVpnLogin(T0 + 2000 + b * 100 + i, '203.0.113.7', HQ)), dead: [] });
    }
    // Another address under the threshold: nothing.
    await stage.write({ events: [failedVpnLogin(T0 + 3000, '203.0.113.8', HQ)], dead: [] });
    await dispatcher.drain();
    expect(queue.jobs).toEqual([
      {
        job: { type: 'ban-ip', device: 'hq', ip: '203.0.113.7', expirySeconds: 3600, reason: expect.stringContaining('threshold 3') },
        key: expect.stringMatching(/^vpn_failed_by_ip\|203\.0\.113\.7\|\d+$/),
      },
    ]);
    expect(lists).toEqual(['blocked:203.0.113.7']);
    expect(await redis().xlen(`${prefix}alerts`)).toBe(1);
  });

  it('keeps a job until Redis takes it (enqueue failures are retried, the batch is not failed)', async () => {
    const queue = recordingQueue(3);
    const { stage, dispatcher } = stageWith(queue);
    await stage.write({ events: Array.from({ length: 3 }, (_, i) => failedVpnLogin(T0 + i, '198.51.100.9', HQ)), dead: [] });
    await waitFor(() => queue.jobs.length, (n) => n === 1, 5000);
    await dispatcher.drain();
    expect(queue.attempts).toBe(4);
    expect(queue.jobs[0]?.job).toMatchObject({ type: 'ban-ip', ip: '198.51.100.9' });
  });

  it('skips (and counts) an alert from a device that is not configured', async () => {
    const queue = recordingQueue();
    const { stage, dispatcher, metrics } = stageWith(queue);
    const other = { name: 'fw-other', serial: 'FGT60FOTHER00001' };
    await stage.write({ events: Array.from({ length: 3 }, (_, i) => failedVpnLogin(T0 + i, '198.51.100.10', other)), dead: [] });
    await dispatcher.drain();
    expect(queue.jobs).toHaveLength(0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/fortistream_alert_actions_total\{counter="vpn_failed_by_ip",outcome="skipped"\} 1/);
  });
});

describe('revokeSessions', () => {
  const redis = useTestRedis();

  it('deletes the sessions and indices, audits, enqueues deauth per session (and ban when asked), lists the addresses', async () => {
    const prefix = uniquePrefix('revoke');
    const sessions = createSessionStore(redis(), { prefix });
    const now = Date.now();
    const base = { user: 'Dave', groups: ['SSL_VPN'], eventTimeMs: now - 1000, timeoutType: 'hard' as const, timeoutSeconds: 3600, openedBy: 't' };
    await sessions.open({ ...base, ip: '203.0.113.70', tunnelIp: '10.212.134.200', device: HQ.serial, method: 'sslvpn' }, now);
    await sessions.open({ ...base, ip: '10.9.9.9', device: 'fw-unknown', method: 'firewall' }, now);
    await sessions.open({ ...base, user: 'erin', ip: '10.9.9.10', device: HQ.serial, method: 'fsso' }, now);
    const queue = recordingQueue();
    const lists: string[] = [];
    const outcome = await revokeSessions(
      {
        sessions,
        queue,
        devices: createDeviceResolver({ hq: { serials: [HQ.serial] } }),
        lists: { add: async (list, address) => void lists.push(`${list}:${address}`) },
      },
      { selector: { by: 'user', user: 'dave' }, reason: 'phished', actor: 'cli:test', banSeconds: 600 },
    );
    expect(outcome.revoked.map((s) => s.ip).sort()).toEqual(['10.9.9.9', '203.0.113.70']);
    expect(queue.jobs.map((j) => j.job)).toEqual([
      { type: 'deauth-user', device: 'hq', ip: '10.212.134.200', user: 'Dave', method: 'firewall', reason: 'revoked by cli:test: phished' },
      { type: 'ban-ip', device: 'hq', ip: '203.0.113.70', expirySeconds: 600, reason: 'revoked by cli:test: phished' },
    ]);
    expect(outcome.skipped).toEqual([
      { session: expect.any(String), action: 'deauth-user', reason: 'no configured device for "fw-unknown"' },
      { session: expect.any(String), action: 'ban-ip', reason: 'no configured device for "fw-unknown"' },
    ]);
    expect(lists.sort()).toEqual(['revoked:10.212.134.200', 'revoked:10.9.9.9', 'revoked:203.0.113.70']);
    // Gone from Redis with their indices; erin's session untouched; audit says who and why.
    expect(await redis().hget(sessions.layout.ipIndex, '203.0.113.70')).toBeNull();
    expect(await redis().hget(sessions.layout.ipIndex, '10.212.134.200')).toBeNull();
    expect(await redis().hget(sessions.layout.userIndex, 'dave')).toBeNull();
    expect(await redis().hget(sessions.layout.ipIndex, '10.9.9.10')).not.toBeNull();
    const audit = await redis().xrange(sessions.layout.auditStream, '-', '+');
    const revokedEntries = audit.filter(([, fields]) => fields.includes('session.revoked'));
    expect(revokedEntries).toHaveLength(2);
    expect(revokedEntries[0]?.[1].join(' ')).toContain('cli:test');
    // Revoking again finds nothing and enqueues nothing.
    const again = await revokeSessions({ sessions, queue, devices: createDeviceResolver({}) }, { selector: { by: 'ip', ip: '203.0.113.70' }, reason: 'x', actor: 'cli:test' });
    expect(again).toEqual({ revoked: [], jobs: [], skipped: [] });
  });
});
