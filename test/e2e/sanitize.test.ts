import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream } from '../../src/demo/send.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { CLI, startWorkerProcess, writePipeline, type WorkerProcess } from '../support/worker-process.js';

interface InjectionSample {
  readonly text: string;
  readonly note: string;
  readonly needs_line_breaks?: boolean;
}

const injections = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'sanitize', 'injections.json'), 'utf8')) as {
  malicious: InjectionSample[];
};
// Syslog ingest already strips C0 characters (CR/LF included) from every value, so a sample that is
// only an injection while it has line breaks (a role marker at a line start) cannot reach a profile
// in that form; the unit tests cover those on raw text.
const samples = injections.malicious.filter((s) => s.needs_line_breaks !== true);

function cli(args: string[]) {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A FortiGate key=value quoted value: backslash and quote escaped. */
function quoted(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

interface Canary {
  readonly user: string;
  readonly ip4: string;
  readonly ip6: string;
  readonly email: string;
  readonly token: string;
}

function canary(n: number): Canary {
  const tag = `${n}q${Math.random().toString(36).slice(2, 7)}`;
  return {
    user: `canaryuser${tag}`,
    ip4: `198.51.100.${10 + n}`,
    ip6: `2001:db8:cafe:${n.toString(16)}::${(0x100 + n).toString(16)}`,
    email: `canary.mail${tag}@example.org`,
    token: `ghp_${`Canary${tag}Tok`.padEnd(36, 'x')}`,
  };
}

/** An SSL-VPN login failure naming the canaries in identity fields and in the free text. */
function canaryLine(c: Canary, policy: number): Buffer {
  return Buffer.from(
    `date=2026-12-04 time=10:00:${String(policy % 60).padStart(2, '0')} devname="fw-e2e" devid="FGT60FTK00000001" logid="0101039426" ` +
      `type="event" subtype="vpn" level="alert" vd="root" policyid=${policy} srcip=${c.ip4} dstip=${c.ip6} user=${quoted(c.user)} ` +
      `group="vpn-users" action="ssl-login-fail" status="failure" reason="sslvpn_login_unknown_user" ` +
      `msg=${quoted(`SSL user failed to logged in: ${c.user} from ${c.ip4} (${c.ip6}) mail ${c.email} token ${c.token}`)} ` +
      `url=${quoted(`https://portal.example.com/login?user=${c.user}&email=${c.email}&access_token=${c.token}`)}`,
  );
}

/** A web-filter log whose attacker-controlled fields carry one injection sample. */
function injectionLine(sample: InjectionSample, index: number): Buffer {
  const field = ['msg', 'url', 'agent'][index % 3] as string;
  return Buffer.from(
    `date=2026-12-04 time=10:01:00 devname="fw-e2e" devid="FGT60FTK00000001" logid="0316013056" type="utm" subtype="webfilter" ` +
      `level="warning" vd="root" policyid=${5000 + index} srcip=10.9.9.${index} dstip=203.0.113.80 hostname="www.example.net" ` +
      `action="blocked" ${field}=${quoted(sample.text)}`,
  );
}

async function waitForLength(redis: Redis, stream: string, length: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let current = 0;
  while (Date.now() < deadline) {
    current = await redis.xlen(stream);
    if (current >= length) return current;
    await new Promise((r) => setTimeout(r, 50));
  }
  return current;
}

function record(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('worker process: ml and agent profiles leak no canary, flag injections, rotate keys', () => {
  const prefix = uniquePrefix('san');
  const redis = new Redis(testRedisUrl());
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-sanitize-'));
  const mlKeys = join(dir, 'ml-keys.json');
  const agentKeys = join(dir, 'agent-keys.json');
  const tokensFile = join(dir, 'tokens.yaml');
  const canaries = [0, 1, 2, 3, 4, 5].map(canary);
  const ml = `${prefix}events:ml`;
  const agent = `${prefix}events:agent`;
  const soc = `${prefix}events:soc`;
  let pipelineFile: string;
  let worker: WorkerProcess;

  beforeAll(async () => {
    expect(cli(['keygen', mlKeys, '--kid', 'ml1']).code).toBe(0);
    expect(cli(['keygen', agentKeys, '--kid', 'ag1']).code).toBe(0);
    const tokenDigest = (await import('node:crypto')).createHash('sha256').update('e2e-token-0123456789abcdefghij').digest('hex');
    (await import('node:fs')).writeFileSync(tokensFile, `tokens:\n  - { name: e2e, token_sha256: "${tokenDigest}", roles: [read] }\n`, { mode: 0o600 });
    pipelineFile = writePipeline(`
redis:
  key_prefix: "${prefix}"
pipeline:
  batch_max_wait_ms: 5
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
profiles:
  ml: { type: ml, keyring: "${mlKeys}", alerts: true }
  agent: { type: agent, keyring: { file: "${agentKeys}" }, alerts: true }
counters:
  - { name: vpn_failures_by_user, when: { event.code: "0101039426" }, key: [user.name], window_seconds: 300, bucket_seconds: 10, threshold: 2 }
api:
  tokens_file: "${tokensFile}"
`);
    worker = await startWorkerProcess(['--pipeline', pipelineFile, '--redis', testRedisUrl(), '--api', '127.0.0.1:0'], 1);
  });

  afterAll(async () => {
    await worker?.stop();
    await redis.quit();
  });

  it('keygen writes keyring files with mode 600', () => {
    expect(statSync(mlKeys).mode & 0o777).toBe(0o600);
    expect(statSync(agentKeys).mode & 0o777).toBe(0o600);
  });

  it('writes no canary username, address, e-mail or token to ml or agent (every byte of every entry)', async () => {
    const tcp = worker.addresses.tcp_in!;
    // canaries 0–2 twice (pseudonym stability), 3–5 once
    const lines = [...canaries.map((c, i) => canaryLine(c, 100 + i)), ...canaries.slice(0, 3).map((c, i) => canaryLine(c, 200 + i))];
    await sendStream(tcp.host, tcp.port, lines, 'octet');
    expect(await waitForLength(redis, ml, lines.length)).toBe(lines.length);
    expect(await waitForLength(redis, agent, lines.length)).toBe(lines.length);
    expect(await waitForLength(redis, soc, lines.length)).toBe(lines.length);

    // the soc stream has them in the clear (else this test would prove nothing)
    const socText = (await redis.xrangeBuffer(soc, '-', '+')).flatMap(([, f]) => f.map((b) => b.toString('utf8'))).join('\n').toLowerCase();
    for (const c of canaries) expect(socText).toContain(c.user.toLowerCase());

    const needles = canaries.flatMap((c) => [c.user, c.ip4, c.ip6, c.email, c.token, c.token.slice(4), c.email.split('@')[0] as string]);
    // Canaries 0–2 failed twice: threshold alerts, raw on the alerts stream, pseudonymized on the profiles'.
    const rawAlerts = await waitForLength(redis, `${prefix}alerts`, 3);
    expect(rawAlerts).toBe(3);
    const rawAlertText = (await redis.xrange(`${prefix}alerts`, '-', '+')).flatMap(([, f]) => f).join('\n');
    for (const c of canaries.slice(0, 3)) expect(rawAlertText).toContain(c.user);
    expect(await waitForLength(redis, `${ml}:alerts`, 3)).toBe(3);
    expect(await waitForLength(redis, `${agent}:alerts`, 3)).toBe(3);
    for (const stream of [ml, agent, `${ml}:alerts`, `${agent}:alerts`]) {
      const entries = await redis.xrangeBuffer(stream, '-', '+');
      expect(entries.length).toBeGreaterThan(0);
      for (const [id, fields] of entries) {
        for (const part of [id, ...fields]) {
          const text = part.toString('latin1').toLowerCase();
          for (const needle of needles) expect(text.includes(needle.toLowerCase()), `${stream} ${id.toString()} contains ${needle}`).toBe(false);
          // decoded as UTF-8 too, JSON escapes unfolded (no \uXXXX escape hides a canary)
          const decoded = part.toString('utf8').replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))).toLowerCase();
          for (const needle of needles) expect(decoded.includes(needle.toLowerCase())).toBe(false);
        }
      }
    }

    // pseudonyms are there instead, stable under one key, distinct per profile key
    const mlEntries = (await redis.xrange(ml, '-', '+')).map(([, f]) => record(f));
    const agentEntries = (await redis.xrange(agent, '-', '+')).map(([, f]) => record(f));
    for (let i = 0; i < 3; i += 1) {
      const first = mlEntries.find((e) => e['rule.id'] === String(100 + i))!;
      const again = mlEntries.find((e) => e['rule.id'] === String(200 + i))!;
      expect(first['user.pseudonym']).toMatch(/^ml1:[A-Za-z0-9_-]{22}$/);
      expect(again['user.pseudonym']).toBe(first['user.pseudonym']);
      expect(again['source.ip.pseudonym']).toBe(first['source.ip.pseudonym']);
      expect(first['destination.network.pseudonym']).toMatch(/^ml1:/);
      const agentFirst = agentEntries.find((e) => e['rule.id'] === String(100 + i))!;
      expect(agentFirst['user.pseudonym']).toMatch(/^ag1:/);
      const text = JSON.parse(agentFirst.untrusted_text!) as Record<string, { text: string; origin: string; redacted?: string[] }>;
      expect(text.message?.origin).toBe('external');
      expect(text.message?.text).toContain('[user:ag1:');
      expect(text.message?.text).toContain('[ip:ag1:');
      expect(text.message?.redacted).toEqual(expect.arrayContaining(['email', 'github_token']));
    }
    // ml carries no free text at all
    for (const entry of mlEntries) {
      expect(entry).not.toHaveProperty('message');
      expect(entry).not.toHaveProperty('untrusted_text');
    }
  });

  it('neutralizes and flags every injection sample fed as log text', async () => {
    const tcp = worker.addresses.tcp_in!;
    await sendStream(tcp.host, tcp.port, samples.map(injectionLine), 'octet');
    const before = 9;
    expect(await waitForLength(redis, agent, before + samples.length)).toBe(before + samples.length);
    const entries = (await redis.xrange(agent, '-', '+')).map(([, f]) => record(f));
    samples.forEach((sample, index) => {
      const entry = entries.find((e) => e['rule.id'] === String(5000 + index));
      expect(entry, sample.note).toBeDefined();
      expect(entry!['fortistream.injection_suspected'], sample.note).toBe('true');
      const field = ['message', 'url.original', 'user_agent.original'][index % 3] as string;
      expect(entry!['fortistream.injection_fields']!.split(','), sample.note).toContain(field);
      const wrapped = JSON.parse(entry!.untrusted_text!) as Record<string, { text: string; injection_suspected: boolean; origin: string }>;
      expect(wrapped[field]?.injection_suspected, sample.note).toBe(true);
      expect(wrapped[field]?.origin).toBe('external');
      // neutralized: no controls, bidi overrides, zero-width characters or line breaks
      // eslint-disable-next-line no-control-regex
      expect(wrapped[field]?.text, sample.note).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/);
      // the text travels only inside untrusted_text, never as a plain field
      for (const [name, value] of Object.entries(entry!)) if (name !== 'untrusted_text') expect(value).not.toBe(sample.text);
    });
  });

  it('changes pseudonyms after a key rotation (SIGHUP), and `pseudonym --all-keys` finds both', async () => {
    const c = canaries[0]!;
    const before = (await redis.xrange(ml, '-', '+')).map(([, f]) => record(f)).find((e) => e['rule.id'] === '100')!;
    const rotated = cli(['keygen', mlKeys, '--kid', 'ml2', '--retire-previous-after', '2099-01-01T00:00:00Z']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(statSync(mlKeys).mode & 0o777).toBe(0o600);
    worker.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!worker.logs.some((l) => l.msg === 'keyring reloaded' && l.current_kid === 'ml2') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(worker.logs.some((l) => l.msg === 'keyring reloaded' && l.current_kid === 'ml2')).toBe(true);

    const tcp = worker.addresses.tcp_in!;
    const length = await redis.xlen(ml);
    await sendStream(tcp.host, tcp.port, [canaryLine(c, 300)], 'octet');
    expect(await waitForLength(redis, ml, length + 1)).toBe(length + 1);
    const after = (await redis.xrange(ml, '-', '+')).map(([, f]) => record(f)).find((e) => e['rule.id'] === '300')!;
    expect(after['user.pseudonym']).toMatch(/^ml2:/);
    expect(after['user.pseudonym']).not.toBe(before['user.pseudonym']);

    const found = cli(['pseudonym', c.user, '--profile', 'ml', '--kind', 'user', '--all-keys', '--json', '--pipeline', pipelineFile]);
    expect(found.code, found.stderr).toBe(0);
    const report = JSON.parse(found.stdout) as { pseudonyms: { kid: string; pseudonym: string; current: boolean }[] };
    expect(report.pseudonyms.map((p) => p.pseudonym)).toEqual([after['user.pseudonym'], before['user.pseudonym']]);
    expect(report.pseudonyms[0]?.current).toBe(true);
    expect(found.stdout).not.toContain(c.user);

    const ip = cli(['pseudonym', c.ip4, '--profile', 'ml', '--pipeline', pipelineFile]);
    expect(ip.stdout.trim()).toBe(after['source.ip.pseudonym']);
  });

  it('keeps the keys in force when the new keyring file is bad', async () => {
    const { writeFileSync, chmodSync } = await import('node:fs');
    const good = readFileSync(mlKeys, 'utf8');
    writeFileSync(mlKeys, '{"current": "nope", "keys": []}');
    chmodSync(mlKeys, 0o600);
    worker.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!worker.logs.some((l) => l.msg === 'keyring not reloaded; keeping the keys in force') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const warning = worker.logs.find((l) => l.msg === 'keyring not reloaded; keeping the keys in force');
    expect(warning?.err).toContain(mlKeys);
    writeFileSync(mlKeys, good);
    chmodSync(mlKeys, 0o600);

    const tcp = worker.addresses.tcp_in!;
    const length = await redis.xlen(ml);
    await sendStream(tcp.host, tcp.port, [canaryLine(canaries[1]!, 301)], 'octet');
    expect(await waitForLength(redis, ml, length + 1)).toBe(length + 1);
    const entry = (await redis.xrange(ml, '-', '+')).map(([, f]) => record(f)).find((e) => e['rule.id'] === '301')!;
    expect(entry['user.pseudonym']).toMatch(/^ml2:/);
  });

  it('serves /healthz and the ml stream over SSE on --api', async () => {
    const line = worker.logs.find((l) => l.msg === 'api listening');
    const address = String(line?.address);
    expect((await get(`http://${address}/healthz`)).status).toBe(200);
    expect((await get(`http://${address}/v1/events/ml`)).status).toBe(401);
  });

  it('writes dead letters once, not once per profile', async () => {
    const tcp = worker.addresses.tcp_in!;
    await sendStream(tcp.host, tcp.port, [Buffer.from('not a fortigate line at all')], 'octet');
    expect(await waitForLength(redis, `${prefix}dead`, 1)).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await redis.xlen(`${prefix}dead`)).toBe(1);
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});
