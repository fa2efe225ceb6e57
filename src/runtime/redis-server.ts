import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A redis-server process this program started and owns. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period) and removes its folder. */
  stop(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** Port to bind; 0 or undefined picks a free one. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--appendonly', 'yes']`. */
  extraArgs?: string[];
  /** Working directory for RDB/AOF files; a fresh temp folder when omitted. */
  dir?: string;
  /** How long to wait for the server to answer PING. */
  startTimeoutMs?: number;
  /**
   * TLS only: `--port 0 --tls-port P` with these PEM files (the readiness PING goes over TLS, trusting
   * `caFile`). `authClients` (default false) requires a client certificate signed by `caFile`: the
   * readiness probe then presents `clientCertFile`/`clientKeyFile`.
   */
  tls?: { certFile: string; keyFile: string; caFile: string; authClients?: boolean; clientCertFile?: string; clientKeyFile?: string };
}

/** True when `redis-server` is on PATH. */
export function redisServerAvailable(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.status === 0;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends a raw RESP PING and resolves true on +PONG (no client library needed). */
export function pingRedis(host: string, port: number, timeoutMs = 500, tls?: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls === undefined ? connect({ host, port }) : tlsConnect({ host, port, ...tls });
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on(tls === undefined ? 'connect' : 'secureConnect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH'));
    });
  });
}

/** Starts `redis-server` on loopback with persistence off unless `extraArgs` turns it on. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = options.port && options.port > 0 ? options.port : await findFreePort();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'fortistream-redis-'));
  const tls = options.tls;
  const args = [
    ...(tls === undefined
      ? ['--port', String(port)]
      : [
          '--port', '0',
          '--tls-port', String(port),
          '--tls-cert-file', tls.certFile,
          '--tls-key-file', tls.keyFile,
          '--tls-ca-cert-file', tls.caFile,
          '--tls-auth-clients', tls.authClients === true ? 'yes' : 'no',
        ]),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  if (tls?.authClients === true && (tls.clientCertFile === undefined || tls.clientKeyFile === undefined)) {
    throw new Error('startPrivateRedis: tls.authClients needs tls.clientCertFile and tls.clientKeyFile for the readiness probe');
  }
  const probeTls =
    tls === undefined
      ? undefined
      : {
          ca: readFileSync(tls.caFile),
          ...(tls.clientCertFile !== undefined && tls.clientKeyFile !== undefined
            ? { cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) }
            : {}),
        };
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited with code ${child.exitCode} before answering: ${stderr.trim()}`);
    }
    const failed = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 0))]);
    if (failed) throw new Error(`cannot start redis-server: ${failed.message}`);
    if (await pingRedis('127.0.0.1', port, 300, probeTls)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within the start timeout`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const pid = child.pid ?? -1;
  return {
    url: `${tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    port,
    pid,
    dir,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
