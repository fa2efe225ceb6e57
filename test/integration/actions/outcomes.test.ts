import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fortiosError } from '../../support/fake-fortios.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { SECRET_TOKEN, startActionKit, type ActionKit } from './action-kit.js';

const BAN = '/api/v2/monitor/user/banned/add_users';
const DEAUTH = '/api/v2/monitor/user/firewall/deauth';
const UNBAN = '/api/v2/monitor/user/banned/clear_users';

describe('actions: retries, failures, timeouts and dry runs', () => {
  let kit: ActionKit;

  beforeAll(async () => {
    kit = await startActionKit({
      devices: { fgt_hq: { max_calls_per_second: 1000, timeout_ms: 300 }, fgt_lab: { dry_run: true } },
      actions: { attempts: 4, backoff_initial_ms: 100 },
    });
  });

  afterAll(async () => {
    await kit?.close();
  });

  it('retries 5xx with exponential backoff, then succeeds; each retry is audited', async () => {
    kit.fortios.script(BAN, fortiosError(500, -1), fortiosError(503));
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '198.51.100.20', expirySeconds: 60, reason: 'retry test' });
    const done = await kit.waitForJob(jobId, 'completed');
    expect(done?.attempts).toBe(3);

    const calls = kit.fortios.requestsTo(BAN).filter((r) => (r.body as { ip_addresses: string[] }).ip_addresses[0] === '198.51.100.20');
    expect(calls).toHaveLength(3);
    // Backoff 100 ms, then 200 ms: the gaps grow (loose lower bounds, no upper bound).
    const gap1 = calls[1]!.atMs - calls[0]!.atMs;
    const gap2 = calls[2]!.atMs - calls[1]!.atMs;
    expect(gap1).toBeGreaterThanOrEqual(90);
    expect(gap2).toBeGreaterThanOrEqual(180);

    const audit = (await kit.audit()).filter((e) => e['action.id'] === jobId);
    expect(audit.map((e) => e['event.action'])).toEqual(['action.retrying', 'action.retrying', 'action.succeeded']);
    expect(audit[0]).toMatchObject({ 'action.attempt': '1', 'http.response.status_code': '500', 'fortios.error': '-1', 'action.retry_in_ms': '100' });
    expect(audit[1]).toMatchObject({ 'action.attempt': '2', 'http.response.status_code': '503', 'action.retry_in_ms': '200' });
    expect(audit[2]).toMatchObject({ 'action.attempt': '3', 'http.response.status_code': '200' });
  });

  it('does not retry a 4xx: the job fails at once with the FortiOS error, audited as action.failed', async () => {
    kit.fortios.script(DEAUTH, fortiosError(400, -651, { cli_error: 'invalid ip address' }));
    const { jobId } = await kit.queue.enqueue({ type: 'deauth-user', device: 'fgt_hq', ip: '10.9.9.9', method: 'firewall', reason: 'revoked' });
    const failed = await kit.waitForJob(jobId, 'failed');
    expect(failed?.attempts).toBe(1);
    expect(failed?.lastError).toBe('fgt_hq: HTTP 400, FortiOS error -651: invalid ip address');
    expect(kit.fortios.requestsTo(DEAUTH)).toHaveLength(1);

    const [entry] = (await kit.audit()).filter((e) => e['action.id'] === jobId);
    expect(entry).toMatchObject({
      'event.action': 'action.failed',
      'event.outcome': 'failure',
      'http.response.status_code': '400',
      'fortios.error': '-651',
      'error.message': 'fgt_hq: HTTP 400, FortiOS error -651: invalid ip address',
    });
    expect(JSON.parse(entry?.['fortios.response'] ?? '{}')).toMatchObject({ status: 'error', http_status: 400, error: -651 });
    // Give BullMQ time to (wrongly) retry before asserting it did not.
    await new Promise((r) => setTimeout(r, 300));
    expect(kit.fortios.requestsTo(DEAUTH)).toHaveLength(1);
  });

  it('retries a call that times out, and fails for good after `attempts`', async () => {
    kit.fortios.script(UNBAN, { hang: true }, { status: 200 });
    const first = await kit.queue.enqueue({ type: 'unban-ip', device: 'fgt_hq', ip: '198.51.100.30', reason: 'timeout test' });
    await kit.waitForJob(first.jobId, 'completed');
    const audit = (await kit.audit()).filter((e) => e['action.id'] === first.jobId);
    expect(audit[0]).toMatchObject({ 'event.action': 'action.retrying', 'action.attempt': '1' });
    expect(audit[0]?.['error.message']).toMatch(/timeout: no complete answer .* within 300 ms/);
    expect(audit[0]?.['http.response.status_code']).toBeUndefined();

    kit.fortios.script(UNBAN, fortiosError(502), fortiosError(502), fortiosError(502), fortiosError(502));
    const second = await kit.queue.enqueue({ type: 'unban-ip', device: 'fgt_hq', ip: '198.51.100.31', reason: 'gives up' });
    const failed = await kit.waitForJob(second.jobId, 'failed');
    expect(failed?.attempts).toBe(4);
    const outcomes = (await kit.audit()).filter((e) => e['action.id'] === second.jobId).map((e) => e['event.action']);
    expect(outcomes).toEqual(['action.retrying', 'action.retrying', 'action.retrying', 'action.failed']);
  });

  it('retries connection errors (connection closed without an answer)', async () => {
    kit.fortios.script(BAN, { reset: true });
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_hq', ip: '198.51.100.40', expirySeconds: 0, reason: 'reset' });
    await kit.waitForJob(jobId, 'completed');
    const [first] = (await kit.audit()).filter((e) => e['action.id'] === jobId);
    expect(first).toMatchObject({ 'event.action': 'action.retrying' });
    expect(first?.['error.message']).toMatch(/^fgt_hq: network: /);
  });

  it('dry run: calls nothing, audits the call it would have made', async () => {
    const before = kit.fortios.requests.length;
    const { jobId } = await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_lab', ip: '192.0.2.77', expirySeconds: 120, reason: 'dry' });
    await kit.waitForJob(jobId, 'completed');
    const [entry] = (await kit.audit()).filter((e) => e['action.id'] === jobId);
    expect(entry).toMatchObject({ 'event.action': 'action.dry_run', 'action.dry_run': 'true', 'action.device': 'fgt_lab' });
    expect(entry?.['action.request']).toMatch(/^POST https:\/\/127\.0\.0\.1:\d+\/api\/v2\/monitor\/user\/banned\/add_users$/);
    expect(JSON.parse(entry?.['action.request_body'] ?? '')).toEqual({ ip_addresses: ['192.0.2.77'], expiry: 120 });
    expect(kit.fortios.requests.length).toBe(before);
  });

  it('counts outcomes and queue depth in Prometheus metrics; no token anywhere in the logs', async () => {
    const text = await waitFor(() => kit.metrics.registry.metrics(), (t) => t.includes('fortistream_actions_jobs'));
    expect(text).toMatch(/fortistream_actions_total\{type="ban-ip",outcome="retrying"\} [1-9]/);
    expect(text).toMatch(/fortistream_actions_total\{type="deauth-user",outcome="failed"\} 1/);
    expect(text).toMatch(/fortistream_actions_total\{type="ban-ip",outcome="dry_run"\} 1/);
    expect(text).toMatch(/fortistream_actions_jobs\{queue="fortistream-actions",state="failed"\} 2/);
    expect(kit.logs.some((line) => line.includes('will retry'))).toBe(true);
    expect(kit.logs.join('\n')).not.toContain(SECRET_TOKEN);
  });
});
