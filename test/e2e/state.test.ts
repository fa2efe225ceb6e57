import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream } from '../../src/demo/send.js';
import { DEFAULT_COUNTERS_YAML, DEFAULT_SESSIONS_YAML } from '../../src/state/rules-defaults.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { authLines, waitFor } from '../support/fortigate-lines.js';
import { CLI, startWorkerProcess, writePipeline, type WorkerProcess } from '../support/worker-process.js';

const { tunnelUp, traffic, tunnelDown, firewallAuth, failedLogin } = authLines();

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
    // The session lives 2 s: read its opening from the audit stream (a CLI call may take longer than that on a busy machine).
    const audited = (action: string) => async () =>
      (await redis.xrange(`${prefix}audit`, '-', '+')).find(([, f]) => f[f.indexOf('event.action') + 1] === action && f.includes('erin'));
    const opened = await waitFor(audited('session.opened'), (entry) => entry !== undefined, 8000);
    expect(opened?.[1].join(' ')).toMatch(/firewall.*10\.9\.9\.9|10\.9\.9\.9.*firewall/);
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
