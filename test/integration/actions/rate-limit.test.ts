import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../support/fortigate-lines.js';
import { startActionKit, type ActionKit } from './action-kit.js';

const BAN = '/api/v2/monitor/user/banned/add_users';

describe('actions: per-device rate limit', () => {
  let kit: ActionKit;

  beforeAll(async () => {
    kit = await startActionKit({
      devices: { fgt_slow: { max_calls_per_second: 4, vdom: 'slow' }, fgt_fast: { max_calls_per_second: 1000, vdom: 'fast' } },
      actions: { concurrency: 4 },
    });
  });

  afterAll(async () => {
    await kit?.close();
  });

  it('spaces one device\'s calls (4/s: ≥ 250 ms apart) while another device is not held up', async () => {
    for (let i = 0; i < 6; i += 1) {
      await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_slow', ip: `198.51.100.${i + 1}`, expirySeconds: 60, reason: 'rate' });
      await kit.queue.enqueue({ type: 'ban-ip', device: 'fgt_fast', ip: `203.0.113.${i + 1}`, expirySeconds: 60, reason: 'rate' });
    }
    await waitFor(() => kit.fortios.requestsTo(BAN).length, (n) => n >= 12, 20_000);
    const calls = kit.fortios.requestsTo(BAN);
    const slow = calls.filter((r) => r.query.vdom === 'slow').map((r) => r.atMs);
    const fast = calls.filter((r) => r.query.vdom === 'fast').map((r) => r.atMs);
    expect(slow).toHaveLength(6);
    expect(fast).toHaveLength(6);
    // Loose bounds: each gap well above zero (the limit is 250 ms), the whole run at least ~5 intervals.
    for (let i = 1; i < slow.length; i += 1) expect(slow[i]! - slow[i - 1]!).toBeGreaterThanOrEqual(150);
    expect(slow[5]! - slow[0]!).toBeGreaterThanOrEqual(1000);
    // The fast device finished while the slow one was still being spaced out.
    expect(Math.max(...fast)).toBeLessThan(slow[5]!);
    // Postponed jobs count as rate_limited, never as failures or retries.
    const audit = await waitFor(() => kit.audit(), (entries) => entries.length >= 12);
    expect(audit.map((e) => e['event.action'])).toEqual(Array.from({ length: 12 }, () => 'action.succeeded'));
    expect(audit.every((e) => e['action.attempt'] === '1')).toBe(true);
    expect(await kit.metrics.registry.metrics()).toMatch(/fortistream_actions_total\{type="ban-ip",outcome="rate_limited"\} [1-9]/);
  });
});
