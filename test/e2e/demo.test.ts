import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitLines } from '../../src/demo/send.js';
import { CLI } from '../support/worker-process.js';

describe('fortistream demo', () => {
  it('replays the bundled sample over UDP and TCP on a private Redis and reports what landed', () => {
    const good = splitLines(readFileSync('samples/fortigate-sample.log')).length;
    const bad = splitLines(readFileSync('samples/fortigate-bad.log')).length;
    // No --redis and no REDIS_URL: the demo starts (and stops) its own redis-server.
    const env = { ...process.env };
    delete env.REDIS_URL;
    const run = spawnSync(process.execPath, [CLI, 'demo', '--json'], { encoding: 'utf8', env, timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      redis: string;
      streams: Record<string, number>;
      sample_events: Record<string, string>[];
      dead_letters: Record<string, string>[];
    };
    expect(report.redis).toMatch(/private redis-server/);
    expect(report.streams['fortistream:events:soc']).toBe(good * 3);
    expect(report.streams['fortistream:dead']).toBe(bad);
    expect(report.sample_events.length).toBeGreaterThanOrEqual(2);
    expect(new Set(report.sample_events.map((e) => e['event.category'])).size).toBeGreaterThan(1);
    expect(report.dead_letters.map((d) => d.code).sort()).toEqual(['bad_cef', 'binary', 'empty', 'no_fields']);
  });
});
