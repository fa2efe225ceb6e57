/** A pipeline reload switches devices and actions: a dry-run device becomes a live one without a restart. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStream } from '../../../src/demo/send.js';
import { startWorker, type RunningWorker } from '../../../src/main.js';
import { startFakeFortios, TEST_CA_FILE, type FakeFortios } from '../../support/fake-fortios.js';
import { fortigateLine, waitFor } from '../../support/fortigate-lines.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

const HQ = { name: 'fw-hq', serial: 'FGT60FHQ00000009' };
const BAN = '/api/v2/monitor/user/banned/add_users';

const failedLogin = (t: number, ip: string): Buffer =>
  fortigateLine(t, `logid="0102043009" type="event" subtype="user" level="notice" vd="root" srcip=${ip} dstip=10.0.0.1 user="mallory" group="N/A" action="authentication" status="failure" msg="failed"`, HQ);

describe('hot reload of devices and actions', () => {
  const prefix = uniquePrefix('reload-act');
  const redis = testRedisClient();
  const dir = mkdtempSync(join(tmpdir(), 'fst-reload-act-'));
  const pipelineFile = join(dir, 'pipeline.yaml');
  const tokenFile = join(dir, 'fgt.token');
  let fortios: FakeFortios;
  let running: RunningWorker;

  const write = (dryRun: boolean, threshold: number): void => {
    writeFileSync(
      pipelineFile,
      `
redis: { key_prefix: "${prefix}" }
pipeline: { batch_max_wait_ms: 5 }
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
devices:
  hq: { base_url: "${fortios.url}", token_file: "${tokenFile}", ca_file: "${TEST_CA_FILE}", serials: [${HQ.serial}], dry_run: ${dryRun}, max_calls_per_second: 100 }
counters:
  - { name: failed_per_ip, when: { event.code: "0102043009" }, key: [source.ip], window_seconds: 300, bucket_seconds: 10, threshold: ${threshold}, action: { type: ban-ip, seconds: 600 } }
`,
    );
  };

  beforeAll(async () => {
    fortios = await startFakeFortios();
    writeFileSync(tokenFile, 'reload-token-0123456789abcdef\n', { mode: 0o600 });
    write(true, 2);
    running = await startWorker({ pipelineFile, redisUrl: testRedisUrl(), logger: pino({ level: 'silent' }) });
  });

  afterAll(async () => {
    await running?.shutdown();
    await fortios?.close();
    await redis.quit();
  });

  const send = async (lines: Buffer[]): Promise<void> => {
    const { host, port } = running.worker.addresses().tcp_in!;
    await sendStream(host, port, lines, 'octet');
  };

  it('dry run calls nothing; after a reload to live (and a new threshold) the next alert bans', async () => {
    const t = Date.now() - 5000;
    await send([failedLogin(t, '198.51.100.1'), failedLogin(t + 1, '198.51.100.1')]);
    const dry = await waitFor(
      () => redis.xrange(`${prefix}audit`, '-', '+'),
      (entries) => entries.some(([, f]) => f.includes('action.dry_run')),
    );
    expect(dry.some(([, f]) => f.includes('action.dry_run'))).toBe(true);
    expect(fortios.requestsTo(BAN)).toHaveLength(0);

    write(false, 3);
    const outcome = await running.reload();
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ result: 'applied' });
    await send([0, 1, 2].map((i) => failedLogin(t + 10 + i, '198.51.100.2')));
    const bans = await waitFor(() => fortios.requestsTo(BAN), (r) => r.length >= 1);
    expect(bans.map((r) => r.body)).toEqual([{ ip_addresses: ['198.51.100.2'], expiry: 600 }]);
  });
});
