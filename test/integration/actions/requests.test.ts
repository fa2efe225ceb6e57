import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CA_FILE } from '../../support/fake-fortios.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { SECRET_TOKEN, startActionKit, type ActionKit } from './action-kit.js';

const BAN = '/api/v2/monitor/user/banned/add_users';
const UNBAN = '/api/v2/monitor/user/banned/clear_users';
const DEAUTH = '/api/v2/monitor/user/firewall/deauth';
const FEED = '/api/v2/monitor/system/external-resource/dynamic';

describe('actions: request shapes', () => {
  let kit: ActionKit;

  beforeAll(async () => {
    process.env.FST_TEST_HOOK_TOKEN = 'hook-token-0d1e2f';
    kit = await startActionKit({
      devices: { fgt_hq: { vdom: 'root', max_calls_per_second: 1000 }, fgt_branch: { vdom: 'branch', max_calls_per_second: 1000 } },
      actions: (url) => ({ webhooks: { soc: { url: `${url}/hooks/soc`, token_env: 'FST_TEST_HOOK_TOKEN', ca_file: TEST_CA_FILE } } }),
    });
  });

  afterAll(async () => {
    await kit?.close();
    delete process.env.FST_TEST_HOOK_TOKEN;
  });

  it('ban-ip, unban-ip, deauth-user and feed-push: method, path, bearer token, ?vdom= and body', async () => {
    await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '203.0.113.7', expirySeconds: 3600, reason: 'failed logins' });
    await kit.queue.enqueue({ type: 'unban-ip', device: 'fgt_branch', ip: '203.0.113.8', reason: 'cleared' });
    await kit.queue.enqueue({ type: 'deauth-user', device: 'fgt_hq', ip: '10.1.2.3', user: 'alice', method: 'fsso', reason: 'revoked' });
    await kit.queue.enqueue({ type: 'deauth-user', device: 'fgt_hq', ip: '2001:db8::5', method: 'firewall', reason: 'revoked' });
    await kit.queue.enqueue({ type: 'feed-push', device: 'fgt_branch', connector: 'fst_blocked', command: 'add', entries: ['198.51.100.1', '198.51.100.0/28'] });

    await waitFor(() => kit.fortios.requests.length, (n) => n >= 5);
    for (const request of kit.fortios.requests) {
      expect(request.method).toBe('POST');
      expect(request.headers.authorization).toBe(`Bearer ${SECRET_TOKEN}`);
      expect(request.headers['content-type']).toBe('application/json');
    }
    const [ban] = kit.fortios.requestsTo(BAN);
    expect(ban?.query).toEqual({ vdom: 'root' });
    expect(ban?.body).toEqual({ ip_addresses: ['203.0.113.7'], expiry: 3600 });
    const [unban] = kit.fortios.requestsTo(UNBAN);
    expect(unban?.query).toEqual({ vdom: 'branch' });
    expect(unban?.body).toEqual({ ip_addresses: ['203.0.113.8'] });
    const deauths = kit.fortios.requestsTo(DEAUTH).map((r) => r.body);
    expect(deauths).toEqual(
      expect.arrayContaining([
        { user_type: 'firewall', id: 0, ip: '10.1.2.3', ip_version: 'ip4', method: 'fsso' },
        { user_type: 'firewall', id: 0, ip: '2001:db8::5', ip_version: 'ip6', method: 'firewall' },
      ]),
    );
    const [feed] = kit.fortios.requestsTo(FEED);
    expect(feed?.query).toEqual({ vdom: 'branch' });
    expect(feed?.body).toEqual({ commands: [{ name: 'fst_blocked', command: 'add', entries: ['198.51.100.1', '198.51.100.0/28'] }] });

    const audit = await waitFor(() => kit.audit(), (entries) => entries.filter((e) => e['event.action'] === 'action.succeeded').length >= 5);
    const banEntry = audit.find((e) => e['action.type'] === 'ban-ip');
    expect(banEntry).toMatchObject({
      'event.action': 'action.succeeded',
      'event.outcome': 'success',
      'event.reason': 'failed logins',
      'action.device': 'fgt_hq',
      'action.target': '203.0.113.7',
      'source.ip': '203.0.113.7',
      'action.attempt': '1',
      'http.response.status_code': '200',
    });
    expect(banEntry?.['action.request']).toMatch(/^POST https:\/\/127\.0\.0\.1:\d+\/api\/v2\/monitor\/user\/banned\/add_users\?vdom=root$/);
    // The token is in the headers only: never in the audit or a log line.
    expect(JSON.stringify(audit)).not.toContain(SECRET_TOKEN);
    expect(kit.logs.join('\n')).not.toContain(SECRET_TOKEN);
  });

  it('webhook: POSTs the payload as JSON with its own bearer token', async () => {
    kit.fortios.reset();
    const { jobId } = await kit.queue.enqueue({ type: 'webhook', webhook: 'soc', payload: { alert: 'failed_logins', key: '192.0.2.9', value: 12 } });
    await kit.waitForJob(jobId, 'completed');
    const [hook] = kit.fortios.requestsTo('/hooks/soc');
    expect(hook?.method).toBe('POST');
    expect(hook?.headers.authorization).toBe('Bearer hook-token-0d1e2f');
    expect(hook?.query).toEqual({});
    expect(hook?.body).toEqual({ alert: 'failed_logins', key: '192.0.2.9', value: 12 });
  });

  it('10 identical enqueues make one job and one call; another idempotency key makes another', async () => {
    kit.fortios.reset();
    const job = { type: 'ban-ip', device: 'fgt_hq', ip: '192.0.2.44', expirySeconds: 600, reason: 'threshold' } as const;
    const results = await Promise.all(Array.from({ length: 10 }, () => kit.queue.enqueue(job, { idempotencyKey: 'failed_logins|192.0.2.44|1700000000000' })));
    expect(new Set(results.map((r) => r.jobId)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const jobId = results[0]!.jobId;
    expect(jobId).not.toContain(':');
    await kit.waitForJob(jobId, 'completed');
    // Later identical enqueues (the job is kept as completed) are duplicates too.
    expect(await kit.queue.enqueue(job, { idempotencyKey: 'failed_logins|192.0.2.44|1700000000000' })).toEqual({ jobId, duplicate: true });
    const next = await kit.queue.enqueue(job, { idempotencyKey: 'failed_logins|192.0.2.44|1700000300000' });
    expect(next.duplicate).toBe(false);
    expect(next.jobId).not.toBe(jobId);
    await kit.waitForJob(next.jobId, 'completed');
    expect(kit.fortios.requestsTo(BAN)).toHaveLength(2);
  });

  it('refuses jobs for unknown devices and invalid addresses at enqueue', async () => {
    await expect(kit.queue.enqueue({ type: 'ban-ip', device: 'nope', ip: '192.0.2.1', expirySeconds: 60, reason: '' })).rejects.toMatchObject({
      code: 'FST_ACTION_INVALID',
      message: expect.stringContaining('unknown device "nope"'),
    });
    await expect(kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '192.0.2.300', expirySeconds: 60, reason: '' })).rejects.toMatchObject({
      code: 'FST_ACTION_INVALID',
      message: expect.stringContaining('ip'),
    });
    await expect(kit.queue.enqueue({ type: 'webhook', webhook: 'none', payload: {} })).rejects.toMatchObject({ code: 'FST_ACTION_INVALID' });
  });
});
