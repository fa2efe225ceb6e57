/**
 * The bench's worker: the built `fortistream run` as a child process (its CPU and memory are its own),
 * ready once it logged its listener's address and `worker started`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOG, FortistreamError, type ErrorCode } from '../errors.js';
import { packageRoot } from '../runtime/package-root.js';

export interface BenchWorker {
  readonly pid: number;
  /** The TCP listener's bound address. */
  readonly address: { readonly host: string; readonly port: number };
  /** The exit code (or the signal's name) once the worker exited, else undefined. */
  exitStatus(): string | undefined;
  /** The worker's last warnings, errors and non-JSON lines (for error messages). */
  problems(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs: number): Promise<void>;
}

export interface StartBenchWorkerOptions {
  readonly pipelineFile: string;
  readonly redisUrl: string;
  /** Extra `run` arguments (--redis-ca, --redis-cert, --redis-key). */
  readonly extraArgs: readonly string[];
  /** Name of the TCP source whose address to wait for. */
  readonly source: string;
  readonly startTimeoutMs: number;
}

/** The built command line: dist/src/cli.js next to this module, or in the package root (tests run from src/). */
export function workerCliPath(): string {
  const beside = fileURLToPath(new URL('../cli.js', import.meta.url));
  return existsSync(beside) ? beside : join(packageRoot(), 'dist', 'src', 'cli.js');
}

const KEPT_PROBLEMS = 20;

export async function startBenchWorker(options: StartBenchWorkerOptions): Promise<BenchWorker> {
  const args = [workerCliPath(), 'run', '--pipeline', options.pipelineFile, '--redis', options.redisUrl, '--no-watch', '--log-level', 'info', ...options.extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const problems: string[] = [];
  const keep = (line: string): void => {
    problems.push(line);
    if (problems.length > KEPT_PROBLEMS) problems.shift();
  };
  let status: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = code !== null ? `exit code ${code}` : `signal ${signal ?? '?'}`;
      resolve();
    });
  });
  let address: { host: string; port: number } | undefined;
  let started = false;
  let onReady: (() => void) | undefined;
  let buffer = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let entry: { msg?: unknown; level?: unknown; source?: unknown; address?: unknown } | undefined;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        if (line.trim() !== '') keep(line);
        continue;
      }
      if (typeof entry?.level === 'number' && entry.level >= 40) keep(`${String(entry.msg)} ${line}`);
      if (entry?.msg === 'listening' && entry.source === options.source && typeof entry.address === 'string') {
        const match = /^\[?(.*?)\]?:(\d+)$/.exec(entry.address);
        if (match) address = { host: match[1] as string, port: Number(match[2]) };
      }
      if (entry?.msg === 'worker started') {
        started = true;
        onReady?.();
      }
    }
  });

  const stop = async (graceMs: number): Promise<void> => {
    if (status !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  const ready = await Promise.race([
    new Promise<'ready'>((resolve) => {
      onReady = () => resolve('ready');
    }),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), options.startTimeoutMs).unref()),
  ]);
  if (ready !== 'ready' || !started || address === undefined) {
    await stop(2000);
    throw startFailure(ready, status, problems, options.startTimeoutMs);
  }
  const bound = address;
  return {
    pid: child.pid ?? -1,
    address: bound,
    exitStatus: () => status,
    problems: () => [...problems],
    stop,
  };
}

/** The worker's own error (`fortistream: CODE: message`) when it printed one, else FST_BENCH_FAILED. */
function startFailure(why: 'ready' | 'exited' | 'timeout', status: string | undefined, problems: readonly string[], timeoutMs: number): FortistreamError {
  for (const line of problems) {
    const match = /^fortistream: (FST_[A-Z_]+): (.*)$/.exec(line);
    if (match && Object.hasOwn(ERROR_CATALOG, match[1] as string)) {
      const details = problems.filter((p) => p.startsWith('  ')).map((p) => p.trim());
      return new FortistreamError(match[1] as ErrorCode, `the bench's worker did not start: ${match[2] as string}`, { details });
    }
  }
  const what = why === 'timeout' ? `did not start within ${timeoutMs / 1000} s` : `stopped before it listened (${status ?? 'no exit status'})`;
  return new FortistreamError('FST_BENCH_FAILED', `the bench's worker ${what}`, { details: problems });
}
