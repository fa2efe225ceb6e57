import { describe, expect, it } from 'vitest';
import { parsePipelineText } from '../../../src/config/load.js';
import { FortistreamError } from '../../../src/errors.js';
import { planAlertJobs } from '../../../src/actions/alert-actions.js';
import { createDeviceResolver } from '../../../src/actions/device-resolver.js';
import { parseFrame } from '../../../src/parse/index.js';
import { counterSettingsSchema, countersSettingsSchema } from '../../../src/state/rules-schema.js';
import { compileRules, type RuleBatchResult } from '../../../src/state/rules.js';
import type { CounterAlert } from '../../../src/state/counters.js';
import { fortigateLine } from '../../support/fortigate-lines.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const devices = createDeviceResolver({
  hq: { serials: ['FGT60FHQ00000001'], names: ['fw-hq'] },
  branch: { serials: [], names: ['fw-branch'] },
});

function alert(key: string): CounterAlert {
  return {
    counter: 'vpn_failed_by_ip',
    key,
    value: 10,
    threshold: 10,
    windowSeconds: 300,
    windowStartMs: T0,
    windowEndMs: T0 + 300_000,
    firstEventMs: T0 + 1000,
    lastEventMs: T0 + 9000,
  };
}

describe('planAlertJobs', () => {
  const ban = { type: 'ban-ip' as const, seconds: 3600, list: 'blocked' };

  it('bans on every configured device that logged the events, once per window', () => {
    const { jobs, skipped } = planAlertJobs({ alert: alert('203.0.113.7'), action: ban, observers: ['FGT60FHQ00000001', 'fw-branch', 'unknown'] }, devices);
    expect(skipped).toBeUndefined();
    expect(jobs.map((j) => j.job)).toEqual([
      { type: 'ban-ip', device: 'hq', ip: '203.0.113.7', expirySeconds: 3600, reason: expect.stringContaining('vpn_failed_by_ip reached 10') },
      { type: 'ban-ip', device: 'branch', ip: '203.0.113.7', expirySeconds: 3600, reason: expect.any(String) },
    ]);
    // Same idempotency key for both devices' jobs (the queue adds the device) and the window start in it.
    expect(new Set(jobs.map((j) => j.idempotencyKey))).toEqual(new Set([`vpn_failed_by_ip|203.0.113.7|${T0}`]));
    // The address joins the blocked list once, for the ban's duration.
    expect(jobs.filter((j) => j.list !== undefined)).toHaveLength(1);
    expect(jobs[0]?.list).toMatchObject({ name: 'blocked', address: '203.0.113.7' });
  });

  it('uses the device the counter names, whoever logged the events', () => {
    const { jobs } = planAlertJobs({ alert: alert('2001:db8::7'), action: { ...ban, device: 'branch' }, observers: ['FGT60FHQ00000001'] }, devices);
    expect(jobs.map((j) => j.job)).toEqual([expect.objectContaining({ device: 'branch', ip: '2001:db8::7' })]);
  });

  it('skips with a reason when the key is not an address or no device matches', () => {
    expect(planAlertJobs({ alert: alert('mallory'), action: ban, observers: ['fw-hq'] }, devices)).toEqual({
      jobs: [],
      skipped: expect.stringContaining('not an IP address'),
    });
    expect(planAlertJobs({ alert: alert('203.0.113.7'), action: ban, observers: ['FGT-other'] }, devices)).toEqual({
      jobs: [],
      skipped: expect.stringContaining('no configured device'),
    });
  });

  it('posts the alert to a webhook', () => {
    const { jobs } = planAlertJobs({ alert: alert('mallory'), action: { type: 'webhook', webhook: 'soc' }, observers: ['fw-hq'] }, devices);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.job).toMatchObject({
      type: 'webhook',
      webhook: 'soc',
      payload: { counter: 'vpn_failed_by_ip', key: 'mallory', value: 10, threshold: 10, window_start: new Date(T0).toISOString() },
    });
  });
});

describe('counter actions in the pipeline file', () => {
  const base = { name: 'c', when: { 'event.code': '0102043009' }, key: ['source.ip'], window_seconds: 300, bucket_seconds: 10 };

  it('needs a threshold, and ban-ip needs a single key field', () => {
    const noThreshold = counterSettingsSchema.safeParse({ ...base, action: { type: 'ban-ip', seconds: 60 } });
    expect(noThreshold.success).toBe(false);
    expect(noThreshold.error?.issues[0]).toMatchObject({ path: ['action'], message: expect.stringContaining('threshold') });
    const twoKeys = counterSettingsSchema.safeParse({ ...base, key: ['source.ip', 'user.name'], threshold: 3, action: { type: 'ban-ip', seconds: 60 } });
    expect(twoKeys.error?.issues[0]).toMatchObject({ path: ['key'] });
    const ok = counterSettingsSchema.parse({ ...base, threshold: 3, action: { type: 'ban-ip', seconds: 60 } });
    expect(ok.action).toEqual({ type: 'ban-ip', seconds: 60, list: 'blocked' });
  });
});

describe('rules: devices on action counters, and our own REST calls ignored', () => {
  const counters = countersSettingsSchema.parse([
    { name: 'plain', when: { 'event.code': ['0102043009', '0116047301'] }, key: ['user.name'], window_seconds: 60, bucket_seconds: 10 },
    {
      name: 'acting',
      when: { 'event.code': ['0102043009', '0116047301'] },
      key: ['user.name'],
      window_seconds: 60,
      bucket_seconds: 10,
      threshold: 2,
      action: { type: 'webhook', webhook: 'soc' },
    },
  ]);
  const rules = compileRules(undefined, counters, { feedbackUsers: ['fortistream-api'] });
  const device = { name: 'fw-hq', serial: 'FGT60FHQ00000001' };
  const event = (body: string) => {
    const result = parseFrame(fortigateLine(T0, body, device), { source: 't', peer: '127.0.0.1:1', receivedAtMs: T0 });
    if (!result.ok) throw new Error(result.reason);
    return result.event;
  };
  const evaluate = (body: string): RuleBatchResult['counterUpdates'] => rules.evaluateBatch([event(body)]).counterUpdates;
  const restCall = (user: string) =>
    `logid="0116047301" type="event" subtype="rest-api" level="information" vd="root" logdesc="REST API request success" user="${user}" ui="REST(127.0.0.1)" method="POST" status="200" url="/api/v2/monitor/user/banned/add_users?vdom=root"`;

  it('records the device only for counters with an action', () => {
    const updates = evaluate('logid="0102043009" type="event" subtype="user" srcip=198.51.100.66 user="mallory" status="failure"');
    expect(updates.map((u) => [u.counter.name, u.device])).toEqual([
      ['plain', undefined],
      ['acting', 'FGT60FHQ00000001'],
    ]);
    expect(rules.counterActions.get('acting')).toEqual({ type: 'webhook', webhook: 'soc' });
  });

  it("does not feed action counters with the FortiGate's logs of our own REST calls", () => {
    expect(evaluate(restCall('fortistream-api')).map((u) => u.counter.name)).toEqual(['plain']);
    // Another admin's REST calls still count everywhere.
    expect(evaluate(restCall('alice')).map((u) => u.counter.name)).toEqual(['plain', 'acting']);
  });
});

describe('counter actions are checked against devices and webhooks', () => {
  const pipeline = (extra: string): string[] => {
    try {
      parsePipelineText(
        `sources:\n  u: { type: syslog, mode: udp, address: "127.0.0.1:0" }\nsinks:\n  soc: { type: redis_streams }\n${extra}`,
        'p.yaml',
        { env: {} },
      );
      return [];
    } catch (error) {
      if (error instanceof FortistreamError) return [...error.details];
      throw error;
    }
  };
  const counter = (action: string) =>
    `counters:\n  - { name: c, when: { event.code: "0102043009" }, key: [source.ip], window_seconds: 60, bucket_seconds: 10, threshold: 3, action: ${action} }\n`;
  const devices = 'devices:\n  hq: { base_url: "https://10.0.0.1", token_env: T }\n';

  it('names the key path of an unknown device or webhook, and a ban without devices', () => {
    expect(pipeline(counter('{ type: ban-ip, seconds: 60 }'))).toEqual(['p.yaml: counters.0.action: ban-ip needs the FortiGates to call: declare them under devices:']);
    expect(pipeline(devices + counter('{ type: ban-ip, seconds: 60, device: branch }'))).toEqual(['p.yaml: counters.0.action.device: no device "branch" under devices:']);
    expect(pipeline(counter('{ type: webhook, webhook: soc }'))).toEqual(['p.yaml: counters.0.action.webhook: no webhook "soc" under actions.webhooks']);
    expect(pipeline(devices + counter('{ type: ban-ip, seconds: 60, device: hq }'))).toEqual([]);
  });
});
