/**
 * The acting side end to end: the built worker, fed FortiGate lines over TCP, calls a fake FortiOS
 * HTTPS server (threshold → one ban per window, webhook, no feedback loop from our own REST calls),
 * pushes and serves a group feed that follows logins and logouts, and `fortistream revoke` deletes
 * sessions and enqueues the deauth the worker then makes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream } from '../../src/demo/send.js';
import { startFakeFortios, TEST_CA_FILE, type FakeFortios } from '../support/fake-fortios.js';
import { failedVpnLoginLine, fortigateLine, waitFor } from '../support/fortigate-lines.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { CLI, startWorkerProcess, writePipeline, type WorkerProcess } from '../support/worker-process.js';

const HQ = { name: 'fw-hq', serial: 'FGT60FHQ00000001' };
const TOKEN = 'e2e-api-token-0123456789abcdef';
const FGT_TOKEN = 'fgt-rest-token-0123456789';
const BAN = '/api/v2/monitor/user/banned/add_users';
const DEAUTH = '/api/v2/monitor/user/firewall/deauth';
const PUSH = '/api/v2/monitor/system/external-resource/dynamic';

const failedVpnLogin = (t: number, ip: string): Buffer => failedVpnLoginLine(t, ip, HQ);
const restCall = (t: number, user: string): Buffer =>
  fortigateLine(t, `logid="0116047301" type="event" subtype="rest-api" level="information" vd="root" logdesc="REST API request success" user="${user}" ui="REST(127.0.0.1)" method="POST" status="200" url="/api/v2/monitor/user/banned/add_users?vdom=root"`, HQ);
const login = (t: number, user: string, ip: string, group: string): Buffer =>
  fortigateLine(t, `logid="0102043008" type="event" subtype="user" level="notice" vd="root" srcip=${ip} dstip=10.0.0.1 policyid=2 user="${user}" group="${group}" authproto="HTTPS(${ip})" action="authentication" status="success" msg="User ${user} succeeded in authentication"`, HQ);
const logout = (t: number, user: string, ip: string): Buffer =>
  fortigateLine(t, `logid="0102043040" type="event" subtype="user" level="notice" vd="root" srcip=${ip} user="${user}" group="Finance" authserver="FSSO_dc1" action="auth-logout" status="logout" msg="User ${user} removed from auth logon"`, HQ);

describe('worker process: enforcement against a fake FortiOS', () => {
  const prefix = uniquePrefix('e2e-act');
  const redis = new Redis(testRedisUrl());
  let fortios: FakeFortios;
  let worker: WorkerProcess;
  let pipelineFile: string;
  let api: string;
  let send: (lines: Buffer[]) => Promise<void>;

  beforeAll(async () => {
    fortios = await startFakeFortios();
    const dir = mkdtempSync(join(tmpdir(), 'fortistream-act-'));
    const tokenFile = join(dir, 'fgt.token');
    writeFileSync(tokenFile, `${FGT_TOKEN}\n`, { mode: 0o600 });
    const tokensFile = join(dir, 'tokens.yaml');
    writeFileSync(tokensFile, `tokens:\n  - { name: soc, token: "${TOKEN}", roles: [read, write] }\n`, { mode: 0o600 });
    pipelineFile = writePipeline(`
redis: { key_prefix: "${prefix}" }
pipeline: { batch_max_wait_ms: 5 }
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
devices:
  hq:
    base_url: ${fortios.url}
    token_file: ${tokenFile}
    ca_file: ${TEST_CA_FILE}
    vdom: root
    serials: [${HQ.serial}]
    api_user: fortistream-api
    max_calls_per_second: 100
actions:
  backoff_initial_ms: 50
  webhooks:
    soc: { url: "${fortios.url}/hooks/soc", ca_file: ${TEST_CA_FILE} }
sessions:
  timeout: { type: idle-timeout, seconds: 600 }
  rules:
    - { name: firewall-auth, when: { event.code: "0102043008" }, do: open, method: firewall }
    - { name: auth-logout, when: { event.code: "0102043040" }, do: close, method: firewall }
counters:
  - name: vpn_failed_per_ip
    when: { event.code: "0101039426" }
    key: [source.ip]
    window_seconds: 300
    bucket_seconds: 10
    threshold: 3
    action: { type: ban-ip, seconds: 3600 }
  - name: rest_calls_per_user
    when: { event.code: "0116047301" }
    key: [user.name]
    window_seconds: 300
    bucket_seconds: 10
    threshold: 3
    action: { type: webhook, webhook: soc }
feeds:
  finance:
    type: group
    group: Finance
    push: { device: hq, connector: fst-finance }
  blocked: { type: list, list: blocked }
api:
  address: "127.0.0.1:0"
  tokens_file: ${tokensFile}
`);
    worker = await startWorkerProcess(['--pipeline', pipelineFile, '--redis', testRedisUrl()], 1);
    const bound = worker.logs.find((entry) => entry.msg === 'api listening');
    api = `http://${String(bound?.address)}`;
    const { host, port } = worker.addresses.tcp_in!;
    send = (lines) => sendStream(host, port, lines, 'octet');
  });

  afterAll(async () => {
    await worker?.stop();
    await fortios?.close();
    await redis.quit();
  });

  const feed = async (name: string): Promise<string> => {
    const response = await fetch(`${api}/v1/feeds/${name}.txt`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    return response.text();
  };
  const pushes = (command: string): string[][] =>
    fortios
      .requestsTo(PUSH)
      .map((r) => (r.body as { commands: { command: string; entries: string[] }[] }).commands[0])
      .filter((c) => c?.command === command)
      .map((c) => c?.entries ?? []);

  it('bans exactly once per window when a threshold is crossed, on the device that logged it', async () => {
    const t = Date.now() - 10_000;
    await send(Array.from({ length: 8 }, (_, i) => failedVpnLogin(t + i * 100, '203.0.113.7')));
    await send([failedVpnLogin(t + 2000, '203.0.113.7')]);
    const bans = await waitFor(() => fortios.requestsTo(BAN), (r) => r.length >= 1);
    // Let any duplicate arrive before counting.
    await new Promise((r) => setTimeout(r, 1000));
    expect(fortios.requestsTo(BAN)).toHaveLength(1);
    expect(bans[0]?.body).toEqual({ ip_addresses: ['203.0.113.7'], expiry: 3600 });
    expect(bans[0]?.headers.authorization).toBe(`Bearer ${FGT_TOKEN}`);
    expect(bans[0]?.query.vdom).toBe('root');
    // The banned address joins the blocked list, which its feed serves.
    expect((await waitFor(() => feed('blocked'), (text) => text.includes('203.0.113.7'))).split('\n')).toContain('203.0.113.7');
    const audit = await waitFor(
      () => redis.xrange(`${prefix}audit`, '-', '+'),
      (entries) => entries.some(([, f]) => f.includes('action.succeeded')),
    );
    expect(audit.some(([, f]) => f.includes('action.succeeded') && f.includes('ban-ip'))).toBe(true);
  });

  it("ignores the FortiGate's logs of our own REST calls, but not another admin's", async () => {
    const t = Date.now() - 5000;
    await send(Array.from({ length: 5 }, (_, i) => restCall(t + i, 'fortistream-api')));
    await send(Array.from({ length: 5 }, (_, i) => restCall(t + i, 'alice')));
    const hooks = await waitFor(() => fortios.requestsTo('/hooks/soc'), (r) => r.length >= 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(fortios.requestsTo('/hooks/soc')).toHaveLength(1);
    expect(hooks[0]?.body).toMatchObject({ counter: 'rest_calls_per_user', key: 'alice', threshold: 3 });
    // The counter without action semantics still saw both users' calls: only the action was held back.
    const events = await redis.xlen(`${prefix}events:soc`);
    expect(events).toBeGreaterThanOrEqual(10);
  });

  it('serves and pushes a group feed that follows logins and logouts', async () => {
    await waitFor(() => pushes('snapshot'), (s) => s.length >= 1);
    const t = Date.now() - 3000;
    await send([login(t, 'fiona', '10.20.0.5', 'Finance'), login(t + 1, 'gus', '10.20.0.6', 'Staff')]);
    expect(await waitFor(() => feed('finance'), (text) => text.includes('10.20.0.5'))).not.toContain('10.20.0.6');
    expect(await waitFor(() => pushes('add'), (adds) => adds.some((e) => e.includes('10.20.0.5')))).not.toContainEqual(['10.20.0.6']);
    await send([logout(t + 1000, 'fiona', '10.20.0.5')]);
    expect(await waitFor(() => feed('finance'), (text) => !text.includes('10.20.0.5'))).not.toContain('10.20.0.5');
    expect(await waitFor(() => pushes('remove'), (removes) => removes.some((e) => e.includes('10.20.0.5')))).toContainEqual(['10.20.0.5']);
  });

  it('fortistream revoke deletes the sessions and the worker deauthenticates them on the FortiGate', async () => {
    const t = Date.now() - 2000;
    await send([login(t, 'erin', '10.30.0.9', 'Finance')]);
    const listed = () => spawnSync(process.execPath, [CLI, 'sessions', '--json', '--user', 'erin', '--pipeline', pipelineFile, '--redis', testRedisUrl()], { encoding: 'utf8' });
    await waitFor(() => JSON.parse(listed().stdout) as unknown[], (s) => s.length === 1);
    const run = spawnSync(
      process.execPath,
      [CLI, 'revoke', '--user', 'ERIN', '--reason', 'phished', '--ban', '600', '--json', '--pipeline', pipelineFile, '--redis', testRedisUrl()],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as { revoked: number; jobs: { type: string; device: string; ip: string }[] };
    expect(outcome.revoked).toBe(1);
    expect(outcome.jobs.map((j) => [j.type, j.device, j.ip]).sort()).toEqual([
      ['ban-ip', 'hq', '10.30.0.9'],
      ['deauth-user', 'hq', '10.30.0.9'],
    ]);
    expect(JSON.parse(listed().stdout)).toEqual([]);
    const deauth = await waitFor(() => fortios.requestsTo(DEAUTH), (r) => r.length >= 1);
    expect(deauth[0]?.body).toMatchObject({ user_type: 'firewall', ip: '10.30.0.9', ip_version: 'ip4', method: 'firewall' });
    await waitFor(() => fortios.requestsTo(BAN), (r) => r.some((req) => JSON.stringify(req.body).includes('10.30.0.9')));
    // The revoked address leaves the group feed (pushed as a remove) and the audit says who revoked.
    expect(await waitFor(() => pushes('remove'), (removes) => removes.some((e) => e.includes('10.30.0.9')))).toContainEqual(['10.30.0.9']);
    const audit = await redis.xrange(`${prefix}audit`, '-', '+');
    expect(audit.some(([, f]) => f.includes('session.revoked') && f.join(' ').includes('phished'))).toBe(true);
    // The same over HTTP: DELETE /v1/sessions with a ban.
    await send([login(Date.now() - 1000, 'hank', '10.30.0.10', 'Staff')]);
    await waitFor(() => JSON.parse(spawnSync(process.execPath, [CLI, 'sessions', '--json', '--user', 'hank', '--pipeline', pipelineFile, '--redis', testRedisUrl()], { encoding: 'utf8' }).stdout) as unknown[], (s) => s.length === 1);
    const response = await fetch(`${api}/v1/sessions?user=hank&reason=test`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ revoked: 1, jobs: [{ type: 'deauth-user', device: 'hq', ip: '10.30.0.10' }] });
    await waitFor(() => fortios.requestsTo(DEAUTH), (r) => r.some((req) => JSON.stringify(req.body).includes('10.30.0.10')));
  });
});
