/**
 * Threshold alerts of the counters: their shape, their stable id, their stream fields (the alerts
 * stream and the profiles' alert streams share them), and how a counter key keeps one pending until
 * the state stage confirms it written (see counter-add-2.lua "Alerts").
 */
import type { CounterSpec } from './counters.js';

export interface CounterAlert {
  readonly counter: string;
  readonly key: string;
  readonly value: number;
  readonly threshold: number;
  readonly windowSeconds: number;
  /** The window that crossed the threshold, [start, end) in epoch ms, bucket-aligned. */
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** Times of the first and last event counted in that window. */
  readonly firstEventMs: number;
  readonly lastEventMs: number;
}

/**
 * An alert as stream fields after its id: `@timestamp` (`nowMs`), kind and action, then the counter,
 * `key` (pass [] to leave the key out: the profiles' alert streams project it themselves), and the
 * figures. The alerts stream and the profiles' alert streams share this layout.
 */
export function alertFields(alert: CounterAlert, alertIdValue: string, key: readonly string[], nowMs: number): string[] {
  return [
    '@timestamp',
    new Date(nowMs).toISOString(),
    'event.kind',
    'alert',
    'event.action',
    'threshold-crossed',
    'fortistream.alert_id',
    alertIdValue,
    'fortistream.counter',
    alert.counter,
    ...key,
    'fortistream.value',
    String(alert.value),
    'fortistream.threshold',
    String(alert.threshold),
    'fortistream.window_seconds',
    String(alert.windowSeconds),
    'fortistream.window_start',
    new Date(alert.windowStartMs).toISOString(),
    'fortistream.window_end',
    new Date(alert.windowEndMs).toISOString(),
    'event.start',
    new Date(alert.firstEventMs).toISOString(),
    'event.end',
    new Date(alert.lastEventMs).toISOString(),
  ];
}

/**
 * The stable id of an alert (counter, key, end of its window): the same when a lost alert is
 * raised again, so consumers of the alerts stream can drop the repeat (`fortistream.alert_id`).
 */
export function alertId(alert: Pick<CounterAlert, 'counter' | 'key' | 'windowEndMs'>): string {
  return `${alert.counter}|${alert.key}|${alert.windowEndMs}`;
}

/** The hash field in which a counter key keeps an alert until `ackAlerts` (see counter-add-2.lua). */
export function pendingAlertField(windowEndMs: number): string {
  return `a:${windowEndMs}`;
}

/** An alert as counter-add-2.lua stores and returns it: `value first_ms last_ms window_start_ms window_end_ms`. */
export function parsePendingAlert(spec: CounterSpec, key: string, text: string): CounterAlert {
  const [value, first, last, start, end] = text.split(' ').map(Number);
  if (value === undefined || first === undefined || last === undefined || start === undefined || end === undefined || [value, first, last, start, end].some((n) => !Number.isFinite(n))) {
    throw new Error(`counter-add: malformed alert ${JSON.stringify(text)} for ${spec.name}`);
  }
  return {
    counter: spec.name,
    key,
    value,
    threshold: spec.threshold ?? 0,
    windowSeconds: spec.windowSeconds,
    firstEventMs: first,
    lastEventMs: last,
    windowStartMs: start,
    windowEndMs: end,
  };
}
