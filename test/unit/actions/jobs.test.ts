import { describe, expect, it } from 'vitest';
import { createDeviceResolver } from '../../../src/actions/device-resolver.js';
import { actionJobId, actionTarget, checkActionJob, fortiosDeauthMethod, fortiosRequestFor, type ActionJob } from '../../../src/actions/jobs.js';
import { devicesSettingsSchema } from '../../../src/actions/settings.js';
import { SESSION_METHODS } from '../../../src/state/session-model.js';

const ban: ActionJob = { type: 'ban-ip', device: 'fgt_hq', ip: '2001:DB8::7', expirySeconds: 3600, reason: 'x' };

describe('action jobs', () => {
  it('derives job ids BullMQ accepts: no ":", not all digits, same request → same id', () => {
    const id = actionJobId(ban);
    expect(id).toMatch(/^ban-ip\.fgt_hq\.2001_db8__7\.[0-9a-f]{24}$/);
    expect(actionJobId({ ...ban, reason: 'other reason', expirySeconds: 60 })).toBe(id); // same effect: same job
    expect(actionJobId({ ...ban, ip: '2001:db8::7' })).toBe(id); // address case does not matter
    expect(actionJobId(ban, 'window-1')).not.toBe(id);
    expect(actionJobId(ban, 'window-1')).toBe(actionJobId(ban, 'window-1'));
    expect(actionJobId({ ...ban, device: 'fgt_dr' })).not.toBe(id);
    expect(actionJobId({ type: 'unban-ip', device: 'fgt_hq', ip: ban.ip, reason: '' })).not.toBe(id);
    const long = actionJobId({ type: 'feed-push', device: 'fgt_hq', connector: 'c'.repeat(35), command: 'add', entries: ['10.0.0.1'] }, 'k'.repeat(5000));
    expect(long.length).toBeLessThan(130);
    expect(long).not.toContain(':');
  });

  it('webhook and feed jobs: payload key order and entry order do not change the id', () => {
    const a = actionJobId({ type: 'webhook', webhook: 'soc', payload: { a: 1, b: { c: 2, d: 3 } } });
    const b = actionJobId({ type: 'webhook', webhook: 'soc', payload: { b: { d: 3, c: 2 }, a: 1 } });
    expect(a).toBe(b);
    expect(actionJobId({ type: 'webhook', webhook: 'soc', payload: { a: 2 } })).not.toBe(a);
    const f1 = actionJobId({ type: 'feed-push', device: 'd', connector: 'blocked', command: 'snapshot', entries: ['10.0.0.1', '10.0.0.2'] });
    const f2 = actionJobId({ type: 'feed-push', device: 'd', connector: 'blocked', command: 'snapshot', entries: ['10.0.0.2', '10.0.0.1'] });
    expect(f1).toBe(f2);
    expect(actionTarget({ type: 'feed-push', device: 'd', connector: 'blocked', command: 'snapshot', entries: ['10.0.0.1'] })).toBe('blocked snapshot (1 entries)');
  });

  it('maps every session method to a FortiOS deauth method', () => {
    expect(SESSION_METHODS.map((m) => [m, fortiosDeauthMethod(m)])).toEqual([
      ['firewall', 'firewall'],
      ['fsso', 'fsso'],
      ['sslvpn', 'firewall'],
      ['admin', 'firewall'],
      ['ipsec', 'firewall'],
      ['idp', 'firewall'],
    ]);
  });

  it('builds the FortiOS monitor API calls', () => {
    expect(fortiosRequestFor({ type: 'ban-ip', device: 'd', ip: '10.0.0.1', expirySeconds: 0, reason: '' })).toEqual({
      method: 'POST',
      path: '/api/v2/monitor/user/banned/add_users',
      body: { ip_addresses: ['10.0.0.1'], expiry: 0 },
    });
    expect(fortiosRequestFor({ type: 'deauth-user', device: 'd', ip: '::1', method: 'fsso', reason: '' }).body).toEqual({
      user_type: 'firewall',
      id: 0,
      ip: '::1',
      ip_version: 'ip6',
      method: 'fsso',
    });
  });

  it('checks jobs read back from the queue, naming the field', () => {
    expect(checkActionJob({ type: 'ban-ip', device: 'd', ip: 'x', expirySeconds: 1, reason: '' })).toEqual({ ok: false, problem: 'ip: an IPv4 or IPv6 address' });
    expect(checkActionJob({ type: 'deauth-user', device: 'd', ip: '10.0.0.1', method: 'magic', reason: '' }).ok).toBe(false);
    expect(checkActionJob({ type: 'reboot', device: 'd' }).ok).toBe(false);
    expect(checkActionJob({ type: 'feed-push', device: 'd', connector: 'c', command: 'add', entries: ['10.0.0.0/8', '10.0.0.1-10.0.0.9', 'bad entry'] }).ok).toBe(false);
    expect(checkActionJob(ban)).toEqual({ ok: true, job: ban });
  });

  it('resolves the device a log came from by serial, then name', () => {
    const devices = devicesSettingsSchema.parse({
      hq: { base_url: 'https://10.0.0.1', token_env: 'T', serials: ['FGT1'], names: ['FGT-HQ'], api_user: 'fortistream' },
      dr: { base_url: 'https://10.0.0.2', token_env: 'T', names: ['FGT-DR'] },
    });
    const resolver = createDeviceResolver(devices);
    expect(resolver.byObserver('FGT1', 'whatever')).toBe('hq');
    expect(resolver.byObserver(undefined, 'FGT-DR')).toBe('dr');
    expect(resolver.byObserver('other', 'other')).toBeUndefined();
    expect(resolver.apiUser('hq')).toBe('fortistream');
    expect(createDeviceResolver(undefined).byObserver('FGT1', undefined)).toBeUndefined();
  });
});
