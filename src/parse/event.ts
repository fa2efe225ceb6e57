/**
 * The normalized event: what the parser produces and every later stage consumes.
 *
 * It is a flat list of alternating field names and values (`fields[0]` = name, `fields[1]` = value, …),
 * with ECS dotted names where ECS has the field and `fortinet.firewall.<key>` otherwise. This is exactly
 * the shape of a Redis Stream entry, so sinks write it without copying; values are strings because
 * stream values are strings (see `NUMERIC_FIELDS` for the ones that are numbers in JSON output).
 */
export interface NormalizedEvent {
  /** Alternating ECS field name / value; names are unique within one event. */
  readonly fields: string[];
  /** Event time in epoch milliseconds (the instant of `@timestamp`). */
  readonly timeMs: number;
}

/** Why a line could not become an event. Stable codes: documented in docs/errors.md. */
export type DeadReasonCode =
  | 'empty'
  | 'binary'
  | 'no_fields'
  | 'bad_cef'
  | 'bad_csv'
  | 'too_many_fields'
  | 'frame_too_large'
  | 'bad_length_prefix'
  | 'frame_truncated_by_peer'
  | 'frame_timeout'
  | 'spool_corrupt'
  | 'parse_exception';

/** A step's result: the value or a reason, never an exception across a batch. */
export type ParseResult =
  | { readonly ok: true; readonly event: NormalizedEvent }
  | { readonly ok: false; readonly code: DeadReasonCode; readonly reason: string };

/** Where a frame came from; added to each event as `fortistream.source` and `log.source.address`. */
export interface FrameOrigin {
  /** Name of the source in the pipeline file. */
  readonly source: string;
  /** Peer as `ip:port` (or `file:<path>` for replays). */
  readonly peer: string;
  /** When the worker read the frame, epoch ms. */
  readonly receivedAtMs: number;
}

/** Returns the value of `name` in the event, or undefined. Linear scan: events have ~20–80 fields. */
export function getField(event: NormalizedEvent, name: string): string | undefined {
  const fields = event.fields;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === name) return fields[i + 1];
  }
  return undefined;
}

/** ECS fields whose values are numbers in JSON output (`fortistream parse`, API). */
export const NUMERIC_FIELDS: ReadonlySet<string> = new Set([
  'source.port',
  'destination.port',
  'source.bytes',
  'destination.bytes',
  'source.packets',
  'destination.packets',
  'network.bytes',
  'network.packets',
  'network.iana_number',
  'event.duration',
  'log.syslog.priority',
  'log.syslog.facility.code',
  'log.syslog.severity.code',
]);

/** Turns an event into a plain object with dotted keys, numbers where `NUMERIC_FIELDS` says so. */
export function eventToObject(event: NormalizedEvent): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const fields = event.fields;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (NUMERIC_FIELDS.has(name)) {
      const n = Number(value);
      out[name] = value !== '' && Number.isFinite(n) ? n : value;
    } else {
      out[name] = value;
    }
  }
  return out;
}
