import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream, splitLines } from '../../../src/demo/send.js';
import { startPrivateRedis, type PrivateRedis } from '../../../src/runtime/redis-server.js';
import { CLI, writePipeline } from '../../support/worker-process.js';

const TLS = join(process.cwd(), 'test', 'fixtures', 'tls');
const fixture = (name: string): string => join(TLS, name);
const LINES = splitLines(readFileSync(join(process.cwd(), 'samples', 'fortigate-sample.log'))).slice(0, 20);
const CANARY = 's3cr3t-canary';

/** A copy of a fixture key with the given mode (git checkouts do not keep modes reliably). */
function keyCopy(dir: string, name: string, mode: number): string {
  const path = join(dir, `${mode.toString(8)}-${name}`);
  copyFileSync(fixture(name), path);
  chmodSync(path, mode);
  return path;
}

interface Run {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves the TCP source's port once `worker started` was logged; rejects when the process exits first. */
  readonly started: Promise<number>;
}

/** Spawns the built CLI, keeping every byte of stdout and stderr. */
function runCli(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let port: number | undefined;
  let onStarted: ((port: number) => void) | undefined;
  const started = new Promise<number>((resolve, reject) => {
    onStarted = resolve;
    child.once('exit', (code) => reject(new Error(`exited with ${code} before starting:\n${text}`)));
  });
  started.catch(() => undefined);
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const line of text.split('\n')) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === 'listening' && typeof entry.address === 'string') port = Number(/:(\d+)$/.exec(entry.address)?.[1]);
        if (entry.msg === 'worker started' && port !== undefined) onStarted?.(port);
      } catch {
        // not JSON
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited, started };
}

function pipelineFor(prefix: string, extra = ''): string {
  return writePipeline(`
redis:
  key_prefix: "${prefix}"
  connect_timeout_ms: 2000
${extra}
pipeline:
  batch_max_wait_ms: 5
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
`);
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

async function stop(run: Run): Promise<number | null> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  return run.exited;
}

describe('Redis over TLS: the worker process against a private TLS-only redis-server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-redis-tls-'));
  let server: PrivateRedis;
  let mtls: PrivateRedis;

  beforeAll(async () => {
    server = await startPrivateRedis({ tls: { certFile: fixture('server.crt'), keyFile: fixture('server.key'), caFile: fixture('ca.crt') } });
    mtls = await startPrivateRedis({
      tls: {
        certFile: fixture('server.crt'),
        keyFile: fixture('server.key'),
        caFile: fixture('ca.crt'),
        authClients: true,
        clientCertFile: fixture('client.crt'),
        clientKeyFile: fixture('client.key'),
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
    await mtls?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens over TLS only (no plain port)', () => {
    expect(server.url).toBe(`rediss://127.0.0.1:${server.port}`);
  });

  it('delivers events over rediss:// with --redis-ca (ioredis and the sink’s raw connection)', async () => {
    const prefix = 'tls-a:';
    const run = runCli(['run', '--pipeline', pipelineFor(prefix), '--redis', server.url, '--redis-ca', fixture('ca.crt')]);
    const port = await run.started;
    const reader = new Redis(server.url, { tls: { ca: readFileSync(fixture('ca.crt')) }, maxRetriesPerRequest: 2 });
    try {
      await sendStream('127.0.0.1', port, LINES, 'lf');
      expect(await waitForLength(reader, `${prefix}events:soc`, LINES.length)).toBe(LINES.length);
      expect(await stop(run)).toBe(0);
    } finally {
      await stop(run);
      reader.disconnect();
    }
  }, 30_000);

  it('presents a client certificate (redis.tls in the pipeline) when the server requires one', async () => {
    const prefix = 'tls-b:';
    const key = keyCopy(dir, 'client.key', 0o600);
    const pipeline = pipelineFor(prefix, `  tls:\n    ca_file: "${fixture('ca.crt')}"\n    cert_file: "${fixture('client.crt')}"\n    key_file: "${key}"`);
    const run = runCli(['run', '--pipeline', pipeline, '--redis', mtls.url]);
    const port = await run.started;
    const reader = new Redis(mtls.url, {
      tls: { ca: readFileSync(fixture('ca.crt')), cert: readFileSync(fixture('client.crt')), key: readFileSync(fixture('client.key')) },
      maxRetriesPerRequest: 2,
    });
    try {
      await sendStream('127.0.0.1', port, LINES, 'octet');
      expect(await waitForLength(reader, `${prefix}events:soc`, LINES.length)).toBe(LINES.length);
      expect(await stop(run)).toBe(0);
    } finally {
      await stop(run);
      reader.disconnect();
    }
  }, 30_000);

  it('without the client certificate the mTLS server is unreachable: clear error, non-zero exit', async () => {
    const run = runCli(['run', '--pipeline', pipelineFor('tls-c:'), '--redis', mtls.url, '--redis-ca', fixture('ca.crt')]);
    const code = await run.exited;
    expect(code).not.toBe(0);
    expect(run.output()).toContain('FST_REDIS_UNAVAILABLE');
  }, 30_000);

  it('a CA that did not sign the server certificate fails with a clear error and a non-zero exit', async () => {
    // client.crt is a certificate, but not the CA of the server's certificate
    const run = runCli(['run', '--pipeline', pipelineFor('tls-d:'), '--redis', server.url, '--redis-ca', fixture('client.crt')]);
    const code = await run.exited;
    expect(code).toBe(3);
    expect(run.output()).toContain('FST_REDIS_UNAVAILABLE');
    expect(run.output()).toMatch(/certificate/i);
  }, 30_000);

  it('refuses a world-readable client key, naming the file and chmod 600, never its content', async () => {
    const key = keyCopy(dir, 'client.key', 0o644);
    const run = runCli([
      'run', '--pipeline', pipelineFor('tls-e:'), '--redis', mtls.url,
      '--redis-ca', fixture('ca.crt'), '--redis-cert', fixture('client.crt'), '--redis-key', key,
    ]);
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('FST_CONFIG_INVALID');
    expect(run.output()).toContain(key);
    expect(run.output()).toContain('world-readable');
    expect(run.output()).toContain('chmod 600');
    expect(run.output()).not.toContain('PRIVATE KEY');
  }, 30_000);

  it('refuses a certificate without its key, and TLS files with a redis:// URL', async () => {
    const lone = runCli(['run', '--pipeline', pipelineFor('tls-f:'), '--redis', server.url, '--redis-cert', fixture('client.crt')]);
    expect(await lone.exited).toBe(2);
    expect(lone.output()).toContain('needs its key');
    const plain = runCli(['run', '--pipeline', pipelineFor('tls-g:'), '--redis', `redis://127.0.0.1:${server.port}`, '--redis-ca', fixture('ca.crt')]);
    expect(await plain.exited).toBe(2);
    expect(plain.output()).toContain('not rediss://');
  }, 30_000);

  it('refuses a world-readable key file of the syslog TLS source', async () => {
    const key = keyCopy(dir, 'server.key', 0o644);
    const pipeline = writePipeline(`
sources:
  tls_in:
    type: syslog
    mode: tls
    address: "127.0.0.1:0"
    tls: { cert_file: "${fixture('server.crt')}", key_file: "${key}" }
sinks:
  soc: { type: redis_streams }
`);
    const run = runCli(['run', '--pipeline', pipeline, '--redis', server.url, '--redis-ca', fixture('ca.crt')]);
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain(key);
    expect(run.output()).toContain('world-readable');
    expect(run.output()).toContain('chmod 600');
    expect(run.output()).not.toContain('PRIVATE KEY');
  }, 30_000);
});

describe('secrets: the Redis password never appears in output', () => {
  let server: PrivateRedis;

  beforeAll(async () => {
    server = await startPrivateRedis({ extraArgs: ['--requirepass', CANARY] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('start-up, a forced write error and shutdown of the worker never print the password', async () => {
    const prefix = 'canary:';
    const url = `redis://:${CANARY}@127.0.0.1:${server.port}`;
    const run = runCli(['run', '--pipeline', pipelineFor(prefix), '--redis', url, '--log-level', 'debug']);
    const admin = new Redis(url, { maxRetriesPerRequest: 2 });
    try {
      const port = await run.started;
      await sendStream('127.0.0.1', port, LINES.slice(0, 5), 'lf');
      expect(await waitForLength(admin, `${prefix}events:soc`, 5)).toBe(5);
      // Forced write errors: every write fails while the stream key holds a string (WRONGTYPE), and
      // every worker connection is killed (reconnects re-send the password).
      await admin.del(`${prefix}events:soc`);
      await admin.set(`${prefix}events:soc`, 'not a stream');
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await sendStream('127.0.0.1', port, LINES.slice(5, 10), 'lf');
      await new Promise((r) => setTimeout(r, 1500));
      await admin.del(`${prefix}events:soc`);
      expect(await waitForLength(admin, `${prefix}events:soc`, 1)).toBeGreaterThan(0);
      await stop(run);
      expect(run.output()).toContain('worker started');
      expect(run.output()).toContain('***');
      expect(run.output()).not.toContain(CANARY);
    } finally {
      await stop(run);
      admin.disconnect();
    }
  }, 30_000);

  it('a connection failure names the URL without its password', async () => {
    const run = runCli(['run', '--pipeline', pipelineFor('canary-b:'), '--redis', `redis://:${CANARY}@127.0.0.1:1`]);
    expect(await run.exited).toBe(3);
    expect(run.output()).toContain('FST_REDIS_UNAVAILABLE');
    expect(run.output()).not.toContain(CANARY);
  }, 30_000);

  it('fortistream check does not print a password in redis.url, valid or not', async () => {
    const good = runCli(['check', pipelineFor('canary-c:').replace(/$/, '')]);
    expect(await good.exited).toBe(0);
    const withPassword = writePipeline(`
redis:
  url: "redis://:${CANARY}@127.0.0.1:6379"
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
`);
    const ok = runCli(['check', withPassword]);
    expect(await ok.exited).toBe(0);
    expect(ok.output()).not.toContain(CANARY);
    const invalid = writePipeline(`
redis:
  url: "http://:${CANARY}@127.0.0.1:6379"
  tls: { verify: maybe }
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
`);
    const bad = runCli(['check', invalid]);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('redis.url');
    expect(bad.output()).not.toContain(CANARY);
  }, 30_000);
});
