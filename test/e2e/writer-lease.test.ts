import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { CLI, startWorkerProcess, writePipeline } from '../support/worker-process.js';

describe('one writer per stream (worker processes)', () => {
  it('a second worker on the same streams exits with FST_WRITER_CONFLICT; after the first stops, one starts', async () => {
    const prefix = uniquePrefix('e2e-lease');
    const pipeline = writePipeline(`
redis:
  key_prefix: "${prefix}"
  writer_lease_seconds: 3
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
`);
    const args = ['--pipeline', pipeline, '--redis', testRedisUrl()];
    const first = await startWorkerProcess(args, 1);
    try {
      const second = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(second.status).toBe(8);
      expect(second.stderr).toContain('FST_WRITER_CONFLICT');
      expect(second.stderr).toContain(`stream ${prefix}events:soc is written by another worker (host `);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    // Released on shutdown: the next worker starts at once.
    const third = await startWorkerProcess(args, 1, 5_000);
    expect(await third.stop()).toBe(0);
  });
});
