import { FortistreamError } from '../errors.js';
import { escapeControlChars } from '../sinks/escape.js';
import { createCounterStore, type CounterReading } from '../state/counters.js';
import { compileRules } from '../state/rules.js';
import { formatTable, openCommandContext, type CommandContextOptions } from './context.js';

export interface CountersCommandOptions extends CommandContextOptions {
  readonly name: string;
  readonly key?: string | undefined;
  /** Read the window ending at this time (epoch ms) instead of now: counters run on event time. */
  readonly atMs?: number | undefined;
  readonly limit?: number | undefined;
  readonly json: boolean;
  readonly print: (line: string) => void;
}

/**
 * `fortistream counters NAME [--key K] [--json]`: the current window of one key (with its buckets),
 * or of every key that has counts. Returns the number of keys printed.
 */
export async function countersCommand(options: CountersCommandOptions): Promise<number> {
  const context = await openCommandContext(options);
  try {
    const specs = compileRules(context.pipeline.sessions, context.pipeline.counters).counters;
    const spec = specs.find((s) => s.name === options.name);
    if (!spec) {
      const known = specs.map((s) => s.name).join(', ') || 'none';
      throw new FortistreamError('FST_ARGUMENT_INVALID', `no counter "${options.name}" in ${context.pipelineFile} (counters: ${known})`);
    }
    const store = createCounterStore(context.redis, { prefix: context.prefix, auditStream: context.prefix + context.pipeline.audit.stream });
    const nowMs = options.atMs ?? Date.now();
    const keys = options.key !== undefined ? [options.key] : await store.keys(spec, options.limit ?? 1000);
    const readings: CounterReading[] = [];
    for (const key of keys) readings.push(await store.read(spec, key, nowMs));
    const shown = options.key !== undefined ? readings : readings.filter((r) => r.value > 0);
    shown.sort((a, b) => b.value - a.value || a.key.localeCompare(b.key));

    if (options.json) {
      options.print(
        JSON.stringify(
          {
            counter: spec.name,
            window_seconds: spec.windowSeconds,
            bucket_seconds: spec.bucketSeconds,
            threshold: spec.threshold ?? null,
            at: new Date(nowMs).toISOString(),
            keys: shown.map((r) => ({
              key: r.key,
              value: r.value,
              over_threshold: spec.threshold !== undefined && r.value >= spec.threshold,
              window_start: new Date(r.windowStartMs).toISOString(),
              window_end: new Date(r.windowEndMs).toISOString(),
              buckets: r.buckets.map((b) => ({ start: new Date(b.startMs).toISOString(), value: b.value })),
            })),
          },
          null,
          2,
        ),
      );
      return shown.length;
    }
    const threshold = spec.threshold !== undefined ? `, threshold ${spec.threshold}` : '';
    options.print(`${spec.name}: window ${spec.windowSeconds}s in ${spec.bucketSeconds}s buckets${threshold}, at ${new Date(nowMs).toISOString()}`);
    if (shown.length === 0) {
      options.print('no counts in the current window');
      return 0;
    }
    const rows = shown.map((r) => [
      escapeControlChars(r.key),
      String(r.value),
      spec.threshold !== undefined && r.value >= spec.threshold ? 'yes' : '',
      r.buckets.map((b) => b.value).join(' '),
    ]);
    for (const line of formatTable(['KEY', 'VALUE', 'OVER', 'BUCKETS (oldest first)'], rows)) options.print(line);
    return shown.length;
  } finally {
    await context.close();
  }
}
