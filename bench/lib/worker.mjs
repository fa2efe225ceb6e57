// Shared helpers for benchmark scenarios: a private Redis, the built worker as a child process,
// its RSS, and the load generator from ../shared/bench.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const LOADGEN_PATH = join(ROOT, '..', 'shared', 'bench', 'fgt-loadgen.mjs');
// Its real path: the loadgen only runs as the main module (it compares its URL with argv[1]), so a
// path through a symlinked ../shared would make it a silent no-op.
export const LOADGEN = existsSync(LOADGEN_PATH) ? realpathSync(LOADGEN_PATH) : LOADGEN_PATH;

export async function startRedis(extraArgs = []) {
  const { startPrivateRedis } = await import(join(ROOT, 'dist', 'src', 'runtime', 'redis-server.js'));
  return startPrivateRedis({ extraArgs });
}

/** Starts `fortistream run` with the given pipeline YAML; resolves once listeners are up. */
export async function startWorker(yaml, redisUrl, sourceCount = 1) {
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-bench-'));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  // V8 defaults: since the Redis sink encodes each event as it is parsed, event objects die young and a
  // larger semi-space no longer helps (measured 16/32/64 MB: same CPU per event, +50–100 MB RSS).
  // BENCH_WORKER_FLAGS passes node flags to the worker (e.g. "--max-semi-space-size=16").
  const flags = (process.env.BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, CLI, 'run', '--pipeline', file, '--redis', redisUrl, '--log-level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const addresses = {};
  let buffer = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not start')), 20_000);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    child.stderr.on('data', (chunk) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line);
          if (entry.msg === 'listening') {
            const m = /^\[?(.*?)\]?:(\d+)$/.exec(entry.address);
            addresses[entry.source] = { host: m[1], port: Number(m[2]) };
          }
          if (entry.msg === 'worker started' && Object.keys(addresses).length >= sourceCount) {
            clearTimeout(timer);
            resolve();
          }
        } catch {
          process.stderr.write(`${line}\n`);
        }
      }
    });
  });
  return {
    child,
    addresses,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', (code) => {
          rmSync(dir, { recursive: true, force: true });
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Resident set size of a process in bytes (VmRSS), or 0 when it is gone. */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Peak RSS the kernel recorded for a process (VmHWM) in bytes. */
export function peakRssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process used so far, in microseconds (/proc/<pid>/stat), or 0 when it is gone. */
export function cpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

/** Runs the load generator with the given arguments; resolves its JSON stats line. `onSpawn` gets its pid. */
export function runLoadgen(args, onSpawn) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOADGEN, ...args, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
    onSpawn?.(child.pid);
    let err = '';
    child.stderr.on('data', (c) => (err += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`loadgen exited ${code}: ${err}`));
      const last = err.trim().split('\n').at(-1);
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`loadgen printed no stats: ${err}`));
      }
    });
  });
}

/**
 * Entries ever added to a stream (XINFO STREAM `entries-added`, Redis ≥ 7.0): counts what landed in
 * a capped stream too, where XLEN stops at the cap. 0 when the stream does not exist yet.
 */
export async function entriesAdded(redis, stream) {
  try {
    const info = await redis.call('XINFO', 'STREAM', stream);
    const at = info.indexOf('entries-added');
    return at < 0 ? 0 : Number(info[at + 1]);
  } catch {
    return 0;
  }
}
