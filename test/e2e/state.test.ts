import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream } from '../../src/demo/send.js';
import { DEFAULT_COUNTERS_YAML, DEFAULT_SESSIONS_YAML } from '../../src/state/rules-defaults.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { CLI, startWorkerProcess, writePipeline, type WorkerProcess } from '../support/worker-process.js';

/** A FortiGate line stamped `atMs` (date/time in UTC plus a nanosecond eventtime). */
function line(atMs: number, body: string): Buffer {
  const iso = new Date(atMs).toISOString();
  const head = `<190>date=${iso.slice(0, 10)} time=${iso.slice(11, 19)} devname="fw-e2e" devid="FGT60FE2E0000001" eventtime=${BigInt(atMs) * 1_000_000n} tz="+0000"`;
  return Buffer.from(`${head} ${body}`);
}

const tunnelUp = (t: number): Buffer =>
  line(t, 'logid="0101039947" type="event" subtype="vpn" level="information" vd="root" action="tunnel-up" tunneltype="ssl-tunnel" tunnelid=77 remip=203.0.113.70 tunnelip=10.212.134.200 user="dave" group="SSL_VPN" msg="SSL tunnel established"');
const traffic = (t: number): Buffer =>
  line(t, 'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.212.134.200 srcport=50000 dstip=198.51.100.9 dstport=443 proto=6 action="close" policyid=7 user="dave" group="SSL_VPN" sentbyte=1200 rcvdbyte=5000');
const tunnelDown = (t: number): Buffer =>
  line(t, 'logid="0101039948" type="event" subtype="vpn" level="information" vd="root" action="tunnel-down" tunneltype="ssl-tunnel" tunnelid=77 remip=203.0.113.70 tunnelip=10.212.134.200 user="dave" group="SSL_VPN" duration=60 msg="SSL tunnel shutdown"');
const firewallAuth = (t: number): Buffer =>
  line(t, 'logid="0102043008" type="event" subtype="user" level="notice" vd="root" srcip=10.9.9.9 dstip=10.0.0.1 policyid=2 user="erin" group="Staff" authproto="HTTPS(10.9.9.9)" action="authentication" status="success" msg="User erin succeeded in authentication"');
const failedLogin = (t: number): Buffer =>
  line(t, 'logid="0102043009" type="event" subtype="user" level="notice" vd="root" srcip=198.51.100.66 dstip=10.0.0.1 policyid=2 user="mallory" group="N/A" authproto="HTTPS(198.51.100.66)" action="authentication" status="failure" msg="User mallory failed in authentication"');

interface SessionJson {
  user: string;
  ip: string;
  tunnel_ip: string | null;
  method: string;
  last_seen: string;
  groups: string[];
}

describe('worker process: sessions and counters from FortiGate auth logs', () => {
  const prefix = uniquePrefix('e2e-state');
  const redis = new Redis(testRedisUrl());
  let worker: WorkerProcess;
  let pipelineFile: string;

  const sessions = (...args: string[]): SessionJson[] => {
    const run = spawnSync(process.execPath, [CLI, 'sessions', '--json', '--pipeline', pipelineFile, '--redis', testRedisUrl(), ...args], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as SessionJson[];
  };

  const waitFor = async <T>(read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let value = await read();
    while (!ok(value) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      value = await read();
    }
    return value;
  };

  beforeAll(async () => {
    pipelineFile = writePipeline(`
redis:
  key_prefix: "${prefix}"
pipeline:
  batch_max_wait_ms: 5
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
${DEFAULT_SESSIONS_YAML.replace('timeout: { type: idle-timeout, seconds: 300 }', 'timeout: { type: idle-timeout, seconds: 2 }')}
${DEFAULT_COUNTERS_YAML}
`);
    worker = await startWorkerProcess(['--pipeline', pipelineFile, '--redis', testRedisUrl()], 1);
  });

  afterAll(async () => {
    await worker?.stop();
    await redis.quit();
  });

  it('opens a session on tunnel-up, refreshes it on traffic, closes it on tunnel-down', async () => {
    const { host, port } = worker.addresses.tcp_in!;
    const t0 = Math.floor((Date.now() - 5000) / 1000) * 1000; // date+time have whole seconds
    await sendStream(host, port, [tunnelUp(t0)], 'octet');
    const opened = await waitFor(() => sessions('--user', 'dave'), (s) => s.length === 1);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ user: 'dave', ip: '203.0.113.70', tunnel_ip: '10.212.134.200', method: 'sslvpn', groups: ['SSL_VPN'] });
    expect(sessions('--ip', '10.212.134.200').map((s) => s.user)).toEqual(['dave']);
    expect(sessions('--ip', '203.0.113.70').map((s) => s.user)).toEqual(['dave']);

    await sendStream(host, port, [traffic(t0 + 3000)], 'octet');
    const refreshed = await waitFor(
      () => sessions('--user', 'dave'),
      (s) => s[0] !== undefined && Date.parse(s[0].last_seen) > Date.parse(opened[0]!.last_seen),
    );
    expect(Date.parse(refreshed[0]!.last_seen)).toBe(t0 + 3000);

    await sendStream(host, port, [tunnelDown(t0 + 4000)], 'octet');
    expect(await waitFor(() => sessions('--user', 'dave'), (s) => s.length === 0)).toEqual([]);
    expect(sessions('--ip', '10.212.134.200')).toEqual([]);

    const audit = (await redis.xrange(`${prefix}audit`, '-', '+')).map(([, f]) => f[f.indexOf('event.action') + 1]);
    expect(audit).toEqual(['session.opened', 'session.closed']);
  });

  it('raises exactly one alert for six failed logins of one user within the window', async () => {
    const { host, port } = worker.addresses.tcp_in!;
    const t0 = Math.floor((Date.now() - 60_000) / 1000) * 1000;
    const attempts = Array.from({ length: 6 }, (_, i) => failedLogin(t0 + i * 2000));
    await sendStream(host, port, attempts, 'octet');
    const alerts = await waitFor(
      () => redis.xrange(`${prefix}alerts`, '-', '+'),
      (a) => a.length >= 1,
    );
    // Give a second alert (which must not come) time to show up.
    await new Promise((r) => setTimeout(r, 500));
    const all = (await redis.xrange(`${prefix}alerts`, '-', '+')).map(([, f]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string;
      return o;
    });
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      'fortistream.counter': 'failed_logins_per_user',
      'fortistream.counter_key': 'mallory',
      'fortistream.threshold': '5',
      'fortistream.window_seconds': '300',
    });
    expect(Number(all[0]!['fortistream.value'])).toBeGreaterThanOrEqual(5);
    expect(Date.parse(all[0]!['event.start']!)).toBe(t0);

    const counters = spawnSync(
      process.execPath,
      [CLI, 'counters', 'failed_logins_per_user', '--key', 'mallory', '--json', '--pipeline', pipelineFile, '--redis', testRedisUrl()],
      { encoding: 'utf8' },
    );
    expect(counters.status, counters.stderr).toBe(0);
    const reading = JSON.parse(counters.stdout) as { keys: Array<{ key: string; value: number; over_threshold: boolean }> };
    expect(reading.keys).toEqual([expect.objectContaining({ key: 'mallory', value: 6, over_threshold: true })]);
  });

  it('expires an idle session on its own and audits session.expired within a few seconds', async () => {
    const { host, port } = worker.addresses.tcp_in!;
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    await sendStream(host, port, [firewallAuth(t0)], 'octet');
    const opened = await waitFor(() => sessions('--user', 'erin'), (s) => s.length === 1);
    expect(opened[0]).toMatchObject({ method: 'firewall', ip: '10.9.9.9', groups: ['Staff'] });
    // Idle timeout 2 s after the login's time; the sweep runs every second.
    const expiredEntry = await waitFor(
      async () =>
        (await redis.xrange(`${prefix}audit`, '-', '+')).find(
          ([, f]) => f[f.indexOf('event.action') + 1] === 'session.expired' && f.includes('erin'),
        ),
      (entry) => entry !== undefined,
      8000,
    );
    expect(expiredEntry).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(sessions('--user', 'erin')).toEqual([]);
  });
});
