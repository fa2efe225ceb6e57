import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { actionsSettingsSchema, devicesSettingsSchema, type ActionsSettings, type DevicesSettings } from '../../../src/actions/settings.js';
import { createActionQueue, type ActionJobState, type ActionJobSummary, type ActionQueue } from '../../../src/actions/queue.js';
import { startActionRunner, type ActionRunner } from '../../../src/actions/runner.js';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.js';
import { createLogger } from '../../../src/observability/logger.js';
import { startFakeFortios, TEST_CA_FILE, type FakeFortios } from '../../support/fake-fortios.js';
import { waitFor } from '../../support/fortigate-lines.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

/** A REST token that must never show up in a log line, an error or an audit entry. */
export const SECRET_TOKEN = 'fst-test-token-5b0e7c1d9a2f44e8b3c6';

export interface ActionKitOptions {
  /** Raw `devices:` (token_file defaults to a mode-600 file holding SECRET_TOKEN; base_url to the fake). */
  readonly devices?: Record<string, Record<string, unknown>>;
  readonly actions?: Record<string, unknown> | ((fortiosUrl: string) => Record<string, unknown>);
  readonly runner?: boolean;
  readonly tls?: boolean;
}

export interface ActionKit {
  readonly prefix: string;
  readonly fortios: FakeFortios;
  readonly queue: ActionQueue;
  readonly runner: ActionRunner | undefined;
  readonly redis: Redis;
  readonly auditStream: string;
  readonly settings: ActionsSettings;
  readonly devices: DevicesSettings;
  readonly tokenFile: string;
  readonly metrics: Metrics;
  /** Every JSON log line the runner wrote. */
  readonly logs: string[];
  audit(): Promise<Array<Record<string, string>>>;
  waitForJob(jobId: string, state: ActionJobState, timeoutMs?: number): Promise<ActionJobSummary | undefined>;
  close(): Promise<void>;
}

export async function startActionKit(options: ActionKitOptions = {}): Promise<ActionKit> {
  const fortios = await startFakeFortios({ tls: options.tls });
  const dir = mkdtempSync(join(tmpdir(), 'fst-actions-'));
  const tokenFile = join(dir, 'fgt.token');
  writeFileSync(tokenFile, `${SECRET_TOKEN}\n`, { mode: 0o600 });
  const rawDevices = options.devices ?? { fgt_hq: {} };
  const devices = devicesSettingsSchema.parse(
    Object.fromEntries(
      Object.entries(rawDevices).map(([name, raw]) => [
        name,
        { base_url: fortios.url, ...(raw.token_env === undefined ? { token_file: tokenFile } : {}), ca_file: TEST_CA_FILE, ...raw },
      ]),
    ),
  );
  const actions = typeof options.actions === 'function' ? options.actions(fortios.url) : options.actions;
  const settings = actionsSettingsSchema.parse({ attempts: 3, backoff_initial_ms: 50, ...actions });
  const prefix = uniquePrefix('act');
  const redis = testRedisClient();
  const auditStream = `${prefix}audit`;
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const queue = createActionQueue({ redisUrl: testRedisUrl(), prefix, settings, devices });
  const runner =
    options.runner === false
      ? undefined
      : await startActionRunner({ redisUrl: testRedisUrl(), prefix, settings, devices, audit: { stream: auditStream, maxLen: 1000 }, redis, logger, metrics });

  return {
    prefix,
    fortios,
    queue,
    runner,
    redis,
    auditStream,
    settings,
    devices,
    tokenFile,
    metrics,
    logs,
    async audit() {
      const entries = await redis.xrange(auditStream, '-', '+');
      return entries.map(([, fields]) => {
        const entry: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i] ?? ''] = fields[i + 1] ?? '';
        return entry;
      });
    },
    async waitForJob(jobId, state, timeoutMs = 15_000) {
      const jobs = await waitFor(
        () => queue.list({ states: [state], limit: 1000 }),
        (list) => list.some((job) => job.id === jobId),
        timeoutMs,
      );
      return jobs.find((job) => job.id === jobId);
    },
    async close() {
      await runner?.close();
      await queue.close();
      await fortios.close();
      // Only this test's keys (its unique prefix): never a flush.
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit().catch(() => redis.disconnect());
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
