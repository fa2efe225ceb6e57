import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.js';
import type { DeadLetter, Frame, SourceContext } from '../../../src/runtime/contracts.js';

/** A SourceContext that records frames, dead letters and log lines; real pino and prom-client. */
export interface RecordingContext {
  readonly ctx: SourceContext;
  readonly frames: Frame[];
  readonly dead: DeadLetter[];
  readonly logs: Record<string, unknown>[];
  readonly metrics: Metrics;
  /** Frames as `data` strings, in arrival order. */
  data(): string[];
  /** Current value of a component counter with the given extra label (reason / stage), 0 if absent. */
  counter(metric: 'dropped' | 'errors' | 'received_events' | 'received_bytes', label?: string): Promise<number>;
}

export function recordingContext(component: string, kind = 'syslog'): RecordingContext {
  const frames: Frame[] = [];
  const dead: DeadLetter[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const metrics = createMetrics({ defaultMetrics: false });
  const names = {
    dropped: ['fortistream_component_dropped_events_total', 'reason'],
    errors: ['fortistream_component_errors_total', 'stage'],
    received_events: ['fortistream_component_received_events_total', ''],
    received_bytes: ['fortistream_component_received_bytes_total', ''],
  } as const;
  return {
    ctx: {
      emit: (frame) => frames.push(frame),
      dead: (letter) => dead.push(letter),
      logger,
      metrics: metrics.component(component, kind),
    },
    frames,
    dead,
    logs,
    metrics,
    data: () => frames.map((f) => f.data.toString('utf8')),
    async counter(metric, label) {
      const [metricName, labelName] = names[metric];
      const found = metrics.registry.getSingleMetric(metricName);
      if (!found) return 0;
      const snapshot = await found.get();
      const match = snapshot.values.find(
        (v) => v.labels.component === component && (labelName === '' || v.labels[labelName] === label),
      );
      return match?.value ?? 0;
    },
  };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const octet = (message: string): string => `${Buffer.byteLength(message)} ${message}`;
