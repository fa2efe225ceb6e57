import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLI = join(process.cwd(), 'dist', 'src', 'cli.js');

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Bound addresses by source name, read from the worker's `listening` log lines. */
  readonly addresses: Record<string, { host: string; port: number }>;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  /** SIGTERM (or the given signal) and wait for exit; resolves the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Writes a pipeline file to a temp folder and returns its path. */
export function writePipeline(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-e2e-'));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** Starts the built worker (`dist/src/cli.js run`) and waits until `sourceCount` listeners logged. */
export async function startWorkerProcess(args: string[], sourceCount: number, timeoutMs = 15_000): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const addresses: Record<string, { host: string; port: number }> = {};
  let buffer = '';
  let stderrText = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in time; stderr:\n${stderrText}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code} during start; stderr:\n${stderrText}`));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderrText += text;
      buffer += text;
      let nl = buffer.indexOf('\n');
      while (nl !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'listening' && typeof entry.source === 'string' && typeof entry.address === 'string') {
            const match = /^\[?(.*?)\]?:(\d+)$/.exec(entry.address);
            if (match) addresses[entry.source] = { host: match[1] as string, port: Number(match[2]) };
          }
          if (entry.msg === 'worker started' && Object.keys(addresses).length >= sourceCount) {
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a JSON line (e.g. a crash trace): kept in stderrText
        }
      }
    });
  });

  return {
    child,
    addresses,
    logs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
