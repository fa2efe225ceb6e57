/**
 * CPU time and memory of another process, read from /proc (Linux). Elsewhere every reader returns
 * undefined and the bench reports those figures as not measured.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat); 100 on most systems. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const probe = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(probe.stdout?.trim());
    clockTicks = Number.isSafeInteger(value) && value > 0 ? value : 100;
  }
  return clockTicks;
}

/** CPU time (user + system) the process used so far, in microseconds; undefined without /proc or once it is gone. */
export function processCpuMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces and parentheses): utime is the 14th field, stime the 15th.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(rest[11]);
  const system = Number(rest[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) return undefined;
  return ((user + system) * 1e6) / ticksPerSecond();
}

/** Peak resident set size (VmHWM) of the process in bytes; undefined without /proc or once it is gone. */
export function processPeakRssBytes(pid: number): number | undefined {
  return statusKilobytes(pid, 'VmHWM');
}

/** Resident set size now (VmRSS) in bytes; undefined without /proc or once it is gone. */
export function processRssBytes(pid: number): number | undefined {
  return statusKilobytes(pid, 'VmRSS');
}

function statusKilobytes(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
