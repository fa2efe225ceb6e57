import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every component reports the same counters (Vector's habit), labelled by component name:
 * events/bytes received and sent, dropped by reason, errors by stage.
 */
export interface ComponentMetrics {
  receivedEvents(count?: number): void;
  receivedBytes(count: number): void;
  sentEvents(count?: number): void;
  sentBytes(count: number): void;
  dropped(reason: string, count?: number): void;
  error(stage: string, count?: number): void;
}

export interface Metrics {
  readonly registry: Registry;
  component(name: string, kind: string): ComponentMetrics;
  readonly batchSize: Histogram<'component'>;
  readonly redisLatency: Histogram<'operation'>;
  /** Threshold alerts written to the alerts stream, by counter. */
  readonly alertsRaised: Counter<'counter'>;
  /** Session changes made by the state stage: opened, closed, expired, late counter updates … */
  readonly stateChanges: Counter<'change'>;
  /** Pipeline reloads by result: applied, rejected (invalid or a part could not be built), unchanged. */
  readonly reloads: Counter<'result'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'fortistream_process_' });
  const labels = ['component', 'kind'] as const;
  const receivedEvents = new Counter({
    name: 'fortistream_component_received_events_total',
    help: 'Events (frames, lines) a component received',
    labelNames: labels,
    registers: [registry],
  });
  const receivedBytes = new Counter({
    name: 'fortistream_component_received_bytes_total',
    help: 'Bytes a component received',
    labelNames: labels,
    registers: [registry],
  });
  const sentEvents = new Counter({
    name: 'fortistream_component_sent_events_total',
    help: 'Events a component passed on or wrote',
    labelNames: labels,
    registers: [registry],
  });
  const sentBytes = new Counter({
    name: 'fortistream_component_sent_bytes_total',
    help: 'Bytes a component passed on or wrote',
    labelNames: labels,
    registers: [registry],
  });
  const droppedEvents = new Counter({
    name: 'fortistream_component_dropped_events_total',
    help: 'Events a component dropped or dead-lettered, by reason',
    labelNames: [...labels, 'reason'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'fortistream_component_errors_total',
    help: 'Errors a component met, by stage',
    labelNames: [...labels, 'stage'],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'fortistream_batch_size_events',
    help: 'Events per batch written by a sink',
    labelNames: ['component'],
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [registry],
  });
  const redisLatency = new Histogram({
    name: 'fortistream_redis_latency_seconds',
    help: 'Round-trip time of Redis pipelines and scripts',
    labelNames: ['operation'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  const alertsRaised = new Counter({
    name: 'fortistream_alerts_total',
    help: 'Threshold alerts written to the alerts stream, by counter',
    labelNames: ['counter'],
    registers: [registry],
  });
  const stateChanges = new Counter({
    name: 'fortistream_state_changes_total',
    help: 'Changes the state stage made or refused: session_open, session_close, session_expired, session_already_expired, counter_late',
    labelNames: ['change'],
    registers: [registry],
  });

  const reloads = new Counter({
    name: 'fortistream_reloads_total',
    help: 'Pipeline reloads (file change or SIGHUP) by result: applied, rejected, unchanged',
    labelNames: ['result'],
    registers: [registry],
  });
  // Present from the start, so a dashboard sees 0 rather than no series.
  for (const result of ['applied', 'rejected', 'unchanged']) reloads.labels(result);

  return {
    registry,
    batchSize,
    reloads,
    redisLatency,
    alertsRaised,
    stateChanges,
    component(name: string, kind: string): ComponentMetrics {
      const received = receivedEvents.labels(name, kind);
      const receivedB = receivedBytes.labels(name, kind);
      const sent = sentEvents.labels(name, kind);
      const sentB = sentBytes.labels(name, kind);
      // Children are cached per reason/stage so the hot path does not re-hash label sets.
      const droppedByReason = new Map<string, ReturnType<typeof droppedEvents.labels>>();
      const errorsByStage = new Map<string, ReturnType<typeof errors.labels>>();
      return {
        receivedEvents: (count = 1) => received.inc(count),
        receivedBytes: (count) => receivedB.inc(count),
        sentEvents: (count = 1) => sent.inc(count),
        sentBytes: (count) => sentB.inc(count),
        dropped(reason, count = 1) {
          let child = droppedByReason.get(reason);
          if (!child) {
            child = droppedEvents.labels(name, kind, reason);
            droppedByReason.set(reason, child);
          }
          child.inc(count);
        },
        error(stage, count = 1) {
          let child = errorsByStage.get(stage);
          if (!child) {
            child = errors.labels(name, kind, stage);
            errorsByStage.set(stage, child);
          }
          child.inc(count);
        },
      };
    },
  };
}
