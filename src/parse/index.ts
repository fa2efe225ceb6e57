import { scanCef, looksLikeCef } from './cef.js';
import { Collector } from './collector.js';
import { readEnvelope, type Envelope } from './envelope.js';
import type { FrameOrigin, ParseResult } from './event.js';
import { looksLikeCsv, scanCsv, scanKeyValue } from './kv.js';
import { finish, type FinishInput } from './normalize.js';

export type { FrameOrigin, NormalizedEvent, ParseResult, DeadReasonCode } from './event.js';

export interface ParseOptions {
  /** The source cut this frame at its size limit: the event gets `fortistream.truncated=true`. */
  readonly truncated?: boolean;
  /**
   * At most this many key=value pairs are read (default 1000); the rest of the line is ignored and the
   * event gets `fortistream.truncated_fields=true`. Keeps a 10,000-pair line cheap.
   */
  readonly maxFields?: number;
}

export const DEFAULT_MAX_FIELDS = 1000;

// One collector and one envelope object for every frame: parsing is synchronous and never re-entered.
const collector = new Collector();
const envelope: Envelope = {
  bodyStart: 0,
  pri: -1,
  host: undefined,
  timeKind: 0,
  timeStart: 0,
  timeEnd: 0,
  rfc5424: false,
};

// Reused too (no per-frame object literal): `finish` reads it synchronously and keeps no reference to it.
const finishInput: { -readonly [K in keyof FinishInput]: FinishInput[K] } = {
  line: '',
  envelope,
  source: '',
  peer: '',
  receivedAtMs: 0,
  truncated: false,
};

function dead(code: 'empty' | 'binary' | 'no_fields' | 'bad_cef', reason: string): ParseResult {
  return { ok: false, code, reason };
}

/** True when the frame is only whitespace / BOM. */
function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0xfeff) return false;
  }
  return true;
}

/** Mostly control characters or U+FFFD: not a log line at all. */
function looksBinary(s: string): boolean {
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 0xfffd || c === 127) bad++;
  }
  return bad * 10 > s.length;
}

function parseUnsafe(data: Buffer | string, origin: FrameOrigin, options: ParseOptions | undefined): ParseResult {
  // Buffer#toString() decodes UTF-8, replacing invalid sequences with U+FFFD; it never throws. Without
  // arguments it goes straight to the native UTF-8 decoder (no encoding-name lookup). Measured: a
  // latin1Slice for pure-ASCII frames (checked with buffer.isAscii) was slower, not faster.
  const line = typeof data === 'string' ? data : data.toString();
  if (isBlank(line)) return dead('empty', 'frame is empty or whitespace');

  const maxFields = options?.maxFields ?? DEFAULT_MAX_FIELDS;
  collector.reset(maxFields > 0 ? maxFields : DEFAULT_MAX_FIELDS);
  const env = readEnvelope(line, envelope);
  const start = env.bodyStart;
  const end = line.length;

  if (looksLikeCef(line, start, end)) {
    if (!scanCef(line, start, end, collector)) {
      return dead('bad_cef', 'CEF header has fewer than 7 "|"-separated fields');
    }
  } else if (looksLikeCsv(line, start, end)) {
    scanCsv(line, start, end, collector);
  } else {
    scanKeyValue(line, start, end, collector);
  }

  if (collector.pairs === 0) {
    if (looksBinary(line)) return dead('binary', 'frame is mostly control or undecodable bytes');
    return dead('no_fields', 'no key=value pairs found');
  }

  finishInput.line = line;
  finishInput.source = origin.source;
  finishInput.peer = origin.peer;
  finishInput.receivedAtMs = origin.receivedAtMs;
  finishInput.truncated = options?.truncated === true;
  const timeMs = finish(collector, finishInput);
  return { ok: true, event: { fields: collector.seal(), timeMs } };
}

/**
 * Parses one syslog frame (FortiGate `default` key=value, `csv`, `cef`, or `rfc5424`, any envelope) into a
 * normalized event. Never throws: bad input becomes `{ ok: false, code, reason }` for the dead-letter
 * stream, and an unexpected exception becomes `parse_exception`.
 */
export function parseFrame(data: Buffer | string, origin: FrameOrigin, options?: ParseOptions): ParseResult {
  try {
    return parseUnsafe(data, origin, options);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, code: 'parse_exception', reason };
  }
}
