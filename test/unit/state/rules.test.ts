import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseFrame } from '../../../src/parse/index.js';
import type { NormalizedEvent } from '../../../src/parse/index.js';
import { DEFAULT_COUNTERS_YAML, DEFAULT_SESSIONS_YAML } from '../../../src/state/rules-defaults.js';
import {
  countersSettingsSchema,
  sessionsSettingsSchema,
  type CountersSettings,
  type SessionsSettings,
} from '../../../src/state/rules-schema.js';
import { compileRules, type RuleBatchResult, type SessionOp } from '../../../src/state/rules.js';

const ORIGIN = { source: 'test', peer: '127.0.0.1:514', receivedAtMs: Date.parse('2025-06-01T12:00:00Z') };
const DEVICE = 'FGT60FLAB0000001';

function parseLine(line: string): NormalizedEvent {
  const result = parseFrame(line, ORIGIN);
  if (!result.ok) throw new Error(`fixture line did not parse: ${result.reason}`);
  return result.event;
}

const FIXTURE_LINES = readFileSync(new URL('../../fixtures/state/auth-lines.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));

/** The fixture line with this logid (and action), parsed with the real parser. */
function fixture(logid: string, action?: string, extra?: string): NormalizedEvent {
  const line = FIXTURE_LINES.find(
    (l) =>
      l.includes(`logid="${logid}"`) &&
      (action === undefined || l.includes(`action="${action}"`)) &&
      (extra === undefined || l.includes(extra)),
  );
  if (line === undefined) throw new Error(`no fixture line for ${logid} ${action ?? ''}`);
  return parseLine(line);
}

function defaults(): { sessions: SessionsSettings; counters: CountersSettings } {
  const sessionsDoc = parseYaml(DEFAULT_SESSIONS_YAML) as { sessions: unknown };
  const countersDoc = parseYaml(DEFAULT_COUNTERS_YAML) as { counters: unknown };
  return {
    sessions: sessionsSettingsSchema.parse(sessionsDoc.sessions),
    counters: countersSettingsSchema.parse(countersDoc.counters),
  };
}

const { sessions: DEFAULT_SESSIONS, counters: DEFAULT_COUNTERS } = defaults();
const rules = compileRules(DEFAULT_SESSIONS, DEFAULT_COUNTERS);

function only<T>(list: readonly T[]): T {
  expect(list).toHaveLength(1);
  return list[0] as T;
}

function openOf(result: RuleBatchResult): Extract<SessionOp, { kind: 'open' }> {
  const op = only(result.sessionOps);
  if (op.kind !== 'open') throw new Error(`expected an open, got ${op.kind}`);
  return op;
}

function closeOf(result: RuleBatchResult): Extract<SessionOp, { kind: 'close' }> {
  const op = only(result.sessionOps);
  if (op.kind !== 'close') throw new Error(`expected a close, got ${op.kind}`);
  return op;
}

function issues(schema: typeof sessionsSettingsSchema | typeof countersSettingsSchema, yaml: string): { path: string; message: string }[] {
  const result = schema.safeParse(parseYaml(yaml));
  if (result.success) throw new Error('expected the settings to be rejected');
  return result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

describe('default rules (DEFAULT_SESSIONS_YAML / DEFAULT_COUNTERS_YAML)', () => {
  it('parse with the schemas', () => {
    expect(DEFAULT_SESSIONS.rules.map((r) => r.name)).toEqual([
      'firewall-auth',
      'auth-logon',
      'auth-logout',
      'fsso-logon',
      'fsso-logoff',
      'sslvpn-tunnel-up',
      'sslvpn-tunnel-down',
      'sslvpn-user-tunnel-up',
      'sslvpn-user-tunnel-down',
      'admin-login',
      'admin-logout',
      'ipsec-tunnel-up',
      'ipsec-tunnel-down',
      'ipsec-tunnel-stats',
      'traffic-identity',
    ]);
    expect(DEFAULT_SESSIONS.timeout).toEqual({ type: 'idle-timeout', seconds: 300 });
    expect(DEFAULT_SESSIONS.sweep_interval_seconds).toBe(1);
    expect(DEFAULT_SESSIONS.audit_refresh).toBe(false);
    expect(rules.counters.map((c) => c.name)).toEqual([
      'failed_logins_per_user',
      'failed_logins_per_ip',
      'denied_traffic_per_ip',
      'bytes_sent_per_user',
    ]);
    expect(rules.counters[0]).toEqual({ name: 'failed_logins_per_user', windowSeconds: 300, bucketSeconds: 10, latenessSeconds: 300, threshold: 5 });
    expect(rules.counters[3]).toEqual({ name: 'bytes_sent_per_user', windowSeconds: 3600, bucketSeconds: 60, latenessSeconds: 3600 });
  });

  it('firewall authentication success opens a firewall session with user, group, ip, device, vdom', () => {
    const event = fixture('0102043008');
    const result = rules.evaluateBatch([event]);
    expect(openOf(result)).toEqual({
      kind: 'open',
      rule: 'firewall-auth',
      input: {
        user: 'bob',
        groups: ['Finance'],
        ip: '10.1.100.11',
        device: DEVICE,
        vdom: 'root',
        method: 'firewall',
        eventTimeMs: Date.parse('2025-06-01T10:00:00Z'),
        timeoutType: 'idle',
        timeoutSeconds: 300,
        openedBy: '0102043008',
      },
    });
    expect(result.refreshes).toEqual([]);
    expect(result.counterUpdates).toEqual([]);
  });

  it('auth-logon opens and auth-logout closes an fsso session by ip', () => {
    const open = openOf(rules.evaluateBatch([fixture('0102043039')]));
    expect(open.rule).toBe('auth-logon');
    expect(open.input).toMatchObject({ user: 'ivan', ip: '10.10.10.20', method: 'fsso', timeoutType: 'idle', timeoutSeconds: 28800 });
    expect(open.input.groups).toBeUndefined();
    const close = closeOf(rules.evaluateBatch([fixture('0102043040')]));
    expect(close).toEqual({
      kind: 'close',
      rule: 'auth-logout',
      selector: { by: 'ip', ip: '10.10.10.20', method: 'fsso', device: DEVICE },
      eventTimeMs: Date.parse('2025-06-01T10:00:02Z'),
      reason: 'auth-logout',
    });
  });

  it('FSSO logon opens and logoff closes an fsso session', () => {
    const open = openOf(rules.evaluateBatch([fixture('0102043014')]));
    expect(open.input).toMatchObject({ user: 'carol', ip: '10.10.10.10', method: 'fsso', openedBy: '0102043014' });
    const close = closeOf(rules.evaluateBatch([fixture('0102043015')]));
    expect(close.selector).toEqual({ by: 'ip', ip: '10.10.10.10', method: 'fsso', device: DEVICE });
    expect(close.reason).toBe('FSSO-logoff');
  });

  it('SSL-VPN tunnel up opens an sslvpn session with the tunnel IP; tunnel down closes by tunnel IP', () => {
    const open = openOf(rules.evaluateBatch([fixture('0101039947')]));
    expect(open.input).toMatchObject({
      user: 'dave',
      groups: ['SSL_VPN'],
      ip: '203.0.113.70',
      tunnelIp: '10.212.134.200',
      method: 'sslvpn',
      timeoutType: 'hard',
      timeoutSeconds: 28800,
    });
    expect(open.input.externalId).toBeUndefined();
    const close = closeOf(rules.evaluateBatch([fixture('0101039948')]));
    expect(close.selector).toEqual({ by: 'ip', ip: '10.212.134.200', method: 'sslvpn', device: DEVICE });
    expect(close.reason).toBe('tunnel-down');
  });

  it('SSL-VPN user (web) tunnel up/down correlate by tunnel id', () => {
    const open = openOf(rules.evaluateBatch([fixture('0101039424')]));
    expect(open.input).toMatchObject({ user: 'erin', ip: '203.0.113.71', externalId: '77', method: 'sslvpn' });
    expect(open.input.tunnelIp).toBeUndefined();
    const close = closeOf(rules.evaluateBatch([fixture('0101039425')]));
    expect(close.selector).toEqual({ by: 'external', device: DEVICE, method: 'sslvpn', externalId: '77' });
  });

  it('admin login opens an admin session keyed by sn; logout closes by the same sn', () => {
    const open = openOf(rules.evaluateBatch([fixture('0100032001')]));
    expect(open.input).toMatchObject({
      user: 'admin',
      ip: '172.16.1.2',
      externalId: '1748772007',
      method: 'admin',
      timeoutType: 'hard',
      timeoutSeconds: 28800,
    });
    const close = closeOf(rules.evaluateBatch([fixture('0100032003')]));
    expect(close.selector).toEqual({ by: 'external', device: DEVICE, method: 'admin', externalId: '1748772007' });
    expect(close.reason).toBe('logout');
  });

  it('IPsec tunnel-up with an XAUTH user opens an ipsec session (tunnel IP, tunnel id, xauth group)', () => {
    const open = openOf(rules.evaluateBatch([fixture('0101037138', 'tunnel-up', 'xauthuser="frank"')]));
    expect(open.input).toEqual({
      user: 'frank',
      groups: ['vpn-staff'],
      ip: '198.51.100.7',
      tunnelIp: '172.18.200.10',
      externalId: '34182',
      device: DEVICE,
      vdom: 'vpn',
      method: 'ipsec',
      eventTimeMs: Date.parse('2025-06-01T10:00:08Z'),
      timeoutType: 'idle',
      timeoutSeconds: 1200,
      openedBy: '0101037138',
    });
  });

  it('IPsec tunnel statistics refresh the user at the tunnel IP; tunnel-down closes by tunnel id', () => {
    const stats = rules.evaluateBatch([fixture('0101037141')]);
    expect(stats.sessionOps).toEqual([]);
    expect(stats.refreshes).toEqual([
      { ip: '172.18.200.10', device: DEVICE, user: 'frank', timeMs: Date.parse('2025-06-01T10:10:08Z') },
    ]);
    const close = closeOf(rules.evaluateBatch([fixture('0101037138', 'tunnel-down')]));
    expect(close.selector).toEqual({ by: 'external', device: DEVICE, method: 'ipsec', externalId: '34182' });
  });

  it('a site-to-site IPsec tunnel (no XAUTH/EAP user) opens nothing', () => {
    const result = rules.evaluateBatch([fixture('0101037138', 'tunnel-up', 'HQ-to-Branch')]);
    expect(result.sessionOps).toEqual([]);
  });

  it('identity on a traffic log refreshes that user at that address and counts the bytes', () => {
    const event = fixture('0000000013', 'close');
    const result = rules.evaluateBatch([event]);
    expect(result.sessionOps).toEqual([]);
    expect(result.refreshes).toEqual([{ ip: '10.10.10.20', device: DEVICE, user: 'ivan', timeMs: event.timeMs }]);
    const update = only(result.counterUpdates);
    expect(update.counter.name).toBe('bytes_sent_per_user');
    expect(update.counter).toBe(rules.counters[3]);
    expect(update.key).toBe('ivan');
    expect(update.increment).toBe(1500);
    expect(update.timeMs).toBe(event.timeMs);
  });

  it('denied traffic counts per source IP; no user means no bytes update and no refresh', () => {
    const result = rules.evaluateBatch([fixture('0000000013', 'deny')]);
    expect(result.refreshes).toEqual([]);
    expect(result.counterUpdates.map((u) => [u.counter.name, u.key, u.increment])).toEqual([
      ['denied_traffic_per_ip', '192.0.2.77', undefined],
    ]);
  });

  it.each([
    ['0100032002', 'admin', '192.0.2.50'],
    ['0102043009', 'bob', '192.0.2.51'],
    ['0101039426', 'mallory', '192.0.2.52'],
  ])('failed login %s counts per user and per source IP', (logid, user, ip) => {
    const result = rules.evaluateBatch([fixture(logid)]);
    expect(result.sessionOps).toEqual([]);
    expect(result.counterUpdates.map((u) => [u.counter.name, u.key, u.increment])).toEqual([
      ['failed_logins_per_user', user, undefined],
      ['failed_logins_per_ip', ip, undefined],
    ]);
  });

  it('keeps event order across a batch (close before a re-login at the same address)', () => {
    const batch = [fixture('0102043015'), fixture('0102043014'), fixture('0100032002'), fixture('0102043008')];
    const result = rules.evaluateBatch(batch);
    expect(result.sessionOps.map((op) => `${op.kind}:${op.rule}`)).toEqual(['close:fsso-logoff', 'open:fsso-logon', 'open:firewall-auth']);
    expect(result.counterUpdates).toHaveLength(2);
  });

  it('produces nothing for events no rule matches (UTM, other event logs, the sample file)', () => {
    const sample = readFileSync(new URL('../../../samples/fortigate-sample.log', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.includes('logid="0419016384"') || l.includes('logid="1501054802"'));
    expect(sample.length).toBe(2);
    const result = rules.evaluateBatch(sample.map(parseLine));
    expect(result).toEqual({ sessionOps: [], refreshes: [], counterUpdates: [] });
  });

  it('every fixture line parses and the whole file evaluates without surprises', () => {
    const result = rules.evaluateBatch(FIXTURE_LINES.map(parseLine));
    expect(result.sessionOps.filter((op) => op.kind === 'open')).toHaveLength(7);
    expect(result.sessionOps.filter((op) => op.kind === 'close')).toHaveLength(6);
    expect(result.refreshes).toHaveLength(2);
  });
});

function compile(sessionsYaml: string | undefined, countersYaml: string | undefined) {
  return compileRules(
    sessionsYaml === undefined ? undefined : sessionsSettingsSchema.parse(parseYaml(sessionsYaml)),
    countersYaml === undefined ? undefined : countersSettingsSchema.parse(parseYaml(countersYaml)),
  );
}

describe('compileRules', () => {
  it('no sections: nothing happens', () => {
    const none = compileRules(undefined, undefined);
    expect(none.evaluateBatch([fixture('0102043008')])).toEqual({ sessionOps: [], refreshes: [], counterUpdates: [] });
    expect(none.counters).toEqual([]);
  });

  it('a rule with several when fields needs all of them', () => {
    const compiled = compile(
      undefined,
      `
- name: ssl_tunnel_fail
  when: { event.code: "0101039426", fortinet.firewall.tunneltype: [ssl-web, ssl-tunnel], event.reason: sslvpn_login_unknown_user }
  key: [source.ip]
  window_seconds: 60
  bucket_seconds: 10
- name: wrong_reason
  when: { event.code: "0101039426", event.reason: sslvpn_login_permission_denied }
  key: [source.ip]
  window_seconds: 60
  bucket_seconds: 10
`,
    );
    const result = compiled.evaluateBatch([fixture('0101039426'), fixture('0102043009')]);
    expect(result.counterUpdates.map((u) => [u.counter.name, u.key])).toEqual([['ssl_tunnel_fail', '192.0.2.52']]);
  });

  it('joins several key fields with |; an event lacking one (or with N/A) does not count', () => {
    const compiled = compile(
      undefined,
      `
- name: per_user_ip
  when: { fortinet.firewall.subtype: [user, system, vpn] }
  key: [user.name, source.ip]
  window_seconds: 60
  bucket_seconds: 60
- name: per_group
  when: { fortinet.firewall.subtype: [user, vpn] }
  key: [user.group.name]
  window_seconds: 60
  bucket_seconds: 60
`,
    );
    const result = compiled.evaluateBatch([fixture('0102043008'), fixture('0102043009'), fixture('0101039426')]);
    expect(result.counterUpdates.map((u) => [u.counter.name, u.key])).toEqual([
      ['per_user_ip', 'bob|10.1.100.11'],
      ['per_group', 'Finance'],
      ['per_user_ip', 'bob|192.0.2.51'],
      ['per_user_ip', 'mallory|192.0.2.52'],
    ]);
  });

  it('value sums integer fields only; missing, zero or non-numeric values add nothing', () => {
    const compiled = compile(
      undefined,
      `
- name: bytes
  when: { fortinet.firewall.type: traffic }
  key: [source.ip]
  value: source.bytes
  window_seconds: 60
  bucket_seconds: 60
  lateness_seconds: 5
`,
    );
    expect(compiled.counters[0]?.latenessSeconds).toBe(5);
    const line = (bytes: string) =>
      parseLine(
        `<189>date=2025-06-01 time=10:00:10 devname="fw" devid="FGT1" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.1 dstip=10.0.0.2 action="accept" ${bytes}`,
      );
    const result = compiled.evaluateBatch([line('sentbyte=42'), line('sentbyte=0'), line('sentbyte=abc'), line('')]);
    expect(result.counterUpdates.map((u) => u.increment)).toEqual([42]);
  });

  it('exists conditions: present means a value other than empty / N/A', () => {
    const compiled = compile(
      `
rules:
  - name: with-authserver
    when: { fortinet.firewall.authserver: { exists: true } }
    do: refresh
    same_device: false
  - name: no-authserver
    when: { fortinet.firewall.type: traffic, fortinet.firewall.authserver: { exists: false } }
    do: refresh
`,
      undefined,
    );
    const result = compiled.evaluateBatch([fixture('0000000013', 'close'), fixture('0000000013', 'deny'), fixture('0102043039')]);
    expect(result.refreshes).toEqual([
      { ip: '10.10.10.20', user: 'ivan', timeMs: Date.parse('2025-06-01T10:00:10Z') },
      { ip: '192.0.2.77', device: DEVICE, timeMs: Date.parse('2025-06-01T10:00:11Z') },
      { ip: '10.10.10.20', user: 'ivan', timeMs: Date.parse('2025-06-01T10:00:01Z') },
    ]);
  });

  it('resolves timeouts per group (first listed wins), then per method, then globally; 0 = 30 days', () => {
    const compiled = compile(
      `
timeout: { type: hard-timeout, seconds: 600 }
methods:
  sslvpn: { type: idle-timeout, seconds: 0 }
groups:
  Contractors: { type: hard-timeout, seconds: 900 }
  Finance: { type: hard-timeout, seconds: 3600 }
rules:
  - name: fw
    when: { event.code: "0102043008" }
    do: open
    method: firewall
  - name: ssl
    when: { event.code: "0101039947" }
    do: open
    method: sslvpn
    tunnel_ip_from: [fortinet.firewall.tunnelip]
`,
      undefined,
    );
    const result = compiled.evaluateBatch([fixture('0102043008'), fixture('0101039947')]);
    const inputs = result.sessionOps.map((op) => (op.kind === 'open' ? [op.input.timeoutType, op.input.timeoutSeconds] : []));
    expect(inputs).toEqual([
      ['hard', 3600],
      ['idle', 30 * 24 * 3600],
    ]);
    expect(compiled.resolveTimeout('firewall', ['Finance', 'Contractors'])).toEqual({ type: 'hard', seconds: 900 });
    expect(compiled.resolveTimeout('admin', [])).toEqual({ type: 'hard', seconds: 600 });
    expect(compiled.resolveTimeout('firewall', ['Other'])).toEqual({ type: 'hard', seconds: 600 });
  });

  it('user_from / ip_from take the first field with a value; an open without a user does nothing', () => {
    const compiled = compile(
      `
rules:
  - name: peer
    when: { event.code: "0101037138" }
    do: open
    method: ipsec
    user_from: [fortinet.firewall.nosuchfield, user.name]
    ip_from: [destination.ip, source.ip]
`,
      undefined,
    );
    const result = compiled.evaluateBatch([
      fixture('0101037138', 'tunnel-up', 'xauthuser="frank"'),
      fixture('0101037138', 'tunnel-up', 'HQ-to-Branch'),
    ]);
    const open = openOf(result);
    expect(open.input.user).toBe('frank');
    expect(open.input.ip).toBe('203.0.113.10');
  });

  it('close_by ip without an address in the event does nothing', () => {
    const compiled = compile(
      `
rules:
  - name: bye
    when: { event.code: "0100032003" }
    do: close
    method: admin
    ip_from: [fortinet.firewall.nosuchfield]
`,
      undefined,
    );
    expect(compiled.evaluateBatch([fixture('0100032003')]).sessionOps).toEqual([]);
  });

  it('events without event.code reach only rules without a log id condition', () => {
    const compiled = compile(
      `
rules:
  - name: by-code
    when: { event.code: "0102043008" }
    do: open
    method: firewall
  - name: generic
    when: { user.name: bob }
    do: refresh
`,
      undefined,
    );
    const event = parseLine('<190>devname="fw" srcip=10.9.9.9 user="bob" action="authentication"');
    const result = compiled.evaluateBatch([event]);
    expect(result.sessionOps).toEqual([]);
    expect(result.refreshes.map((r) => r.ip)).toEqual(['10.9.9.9']);
  });
});

describe('settings schemas', () => {
  it('apply defaults to an empty sessions section', () => {
    expect(sessionsSettingsSchema.parse({})).toEqual({
      timeout: { type: 'idle-timeout', seconds: 300 },
      methods: {},
      groups: {},
      audit_refresh: false,
      sweep_interval_seconds: 1,
      rules: [],
    });
    const rule = sessionsSettingsSchema.parse({ rules: [{ name: 'a', when: { 'event.code': '1' }, do: 'open', method: 'idp' }] }).rules[0];
    expect(rule).toMatchObject({ user_from: ['user.name'], ip_from: ['source.ip'], groups_from: ['user.group.name'], same_device: true });
  });

  it('rejects a bucket that does not divide the window, and zero buckets, with paths', () => {
    expect(
      issues(countersSettingsSchema, `
- { name: a, when: { event.code: "1" }, key: [source.ip], window_seconds: 300, bucket_seconds: 7 }
- { name: b, when: { event.code: "1" }, key: [source.ip], window_seconds: 300, bucket_seconds: 0 }
`),
    ).toEqual([
      { path: '0.bucket_seconds', message: 'bucket_seconds (7) must divide window_seconds (300)' },
      { path: '1.bucket_seconds', message: expect.stringContaining('>=1') as string },
    ]);
  });

  it('rejects duplicate counter and rule names', () => {
    expect(
      issues(countersSettingsSchema, `
- { name: a, when: { event.code: "1" }, key: [source.ip], window_seconds: 60, bucket_seconds: 10 }
- { name: a, when: { event.code: "2" }, key: [user.name], window_seconds: 60, bucket_seconds: 10 }
`),
    ).toEqual([{ path: '1.name', message: 'duplicate counter name a' }]);
    expect(
      issues(sessionsSettingsSchema, `
rules:
  - { name: x, when: { event.code: "1" }, do: open, method: firewall }
  - { name: x, when: { event.code: "2" }, do: close, method: firewall }
`),
    ).toEqual([{ path: 'rules.1.name', message: 'duplicate rule name x' }]);
  });

  it('rejects unknown keys, bad names, empty when, bad field names and unquoted log ids', () => {
    const found = issues(countersSettingsSchema, `
- { name: Bad-Name, when: {}, key: [source.ip], window_seconds: 60, bucket_seconds: 10, colour: red }
- { name: ok, when: { "bad field": 1 }, key: ["source..ip"], window_seconds: 60, bucket_seconds: 10 }
- { name: ok2, when: { event.code: 0102043008 }, key: [source.ip], window_seconds: 60, bucket_seconds: 10 }
`);
    const paths = found.map((i) => i.path);
    expect(paths).toContain('0'); // unrecognized key "colour"
    expect(found.find((i) => i.path === '0')?.message).toContain('colour');
    expect(paths).toContain('0.name');
    expect(paths).toContain('0.when');
    expect(paths).toContain('1.when.bad field');
    expect(paths).toContain('1.key.0');
    expect(found.find((i) => i.path === '2.when.event.code')?.message).toContain('quoted');
  });

  it('checks method, close_by and the fields they need', () => {
    const found = issues(sessionsSettingsSchema, `
timeout: { type: idle-timeout, seconds: 300, extra: 1 }
methods: { vpn: { type: idle-timeout, seconds: 1 } }
rules:
  - { name: a, when: { event.code: "1" }, do: open }
  - { name: b, when: { event.code: "1" }, do: refresh, method: firewall }
  - { name: c, when: { event.code: "1" }, do: close, method: admin, close_by: external }
  - { name: d, when: { event.code: "1" }, do: close, method: sslvpn, close_by: tunnel_ip }
  - { name: e, when: { event.code: "1" }, do: open, method: sslvpn, close_by: ip }
  - { name: f, when: { event.code: "1" }, do: login, method: sslvpn }
`);
    expect(found.map((i) => i.path)).toEqual([
      'timeout',
      'methods',
      'rules.0.method',
      'rules.1.method',
      'rules.2.external_id_from',
      'rules.3.tunnel_ip_from',
      'rules.4.close_by',
      'rules.5.do',
    ]);
  });
});
