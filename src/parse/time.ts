/**
 * Time helpers for the parser: hand-written digit scanning (no Date.parse, no regex on the hot path).
 * Every function returns NaN for anything it does not understand; callers fall back to the next source.
 */

/** Earliest and latest instants we accept from a log (2000-01-01 … 2100-01-01): the rest is garbage. */
const MIN_MS = 946_684_800_000;
const MAX_MS = 4_102_444_800_000;

function digits(s: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

function plausible(ms: number): number {
  return ms >= MIN_MS && ms < MAX_MS ? ms : NaN;
}

/**
 * FortiGate `eventtime`: 10 digits = seconds, 13 = ms, 16 = µs, 19 = ns. Anything else (the odd 9-digit
 * sample) or outside 2000–2100 is NaN. 19-digit values exceed 2^53, so we read only the first 13 digits.
 */
export function parseEventTime(value: string): number {
  const len = value.length;
  if (len !== 10 && len !== 13 && len !== 16 && len !== 19) return NaN;
  // One pass: every character must be a digit; the first 13 (at most) are the value.
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    if (i < 13) n = n * 10 + c;
  }
  return plausible(len === 10 ? n * 1000 : n);
}

/**
 * Timezone offset in minutes east of UTC, or NaN: `+0200`, `-0500`, `+02:00`, `UTC-5:00`, `UTC+2`,
 * `GMT+1`, `Z`, `UTC`.
 */
export function parseTzOffsetMinutes(tz: string): number {
  let i = 0;
  const len = tz.length;
  if (len === 0) return NaN;
  const first = tz.charCodeAt(0);
  if ((first === 85 || first === 71 || first === 117 || first === 103) && len >= 3) i = 3; // UTC / GMT
  if (i === len) return i === 3 ? 0 : NaN;
  if (len === 1 && (first === 90 || first === 122)) return 0; // Z
  const sign = tz.charCodeAt(i);
  if (sign !== 43 && sign !== 45) return NaN;
  i++;
  let hours = 0;
  let hourDigits = 0;
  while (i < len && hourDigits < 2) {
    const c = tz.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    hours = hours * 10 + c;
    hourDigits++;
    i++;
  }
  if (hourDigits === 0) return NaN;
  let minutes = 0;
  if (i < len && tz.charCodeAt(i) === 58) i++;
  if (i < len) {
    if (len - i !== 2) return NaN;
    minutes = digits(tz, i, 2);
  }
  if (Number.isNaN(minutes) || hours > 14 || minutes > 59) return NaN;
  const total = hours * 60 + minutes;
  return sign === 45 ? -total : total;
}

/** `YYYY-MM-DD` + `HH:MM:SS` read as UTC wall time (the caller subtracts the zone offset). */
export function parseDateTimeUtc(date: string, time: string): number {
  if (date.length !== 10 || time.length < 8) return NaN;
  if (date.charCodeAt(4) !== 45 || date.charCodeAt(7) !== 45) return NaN;
  if (time.charCodeAt(2) !== 58 || time.charCodeAt(5) !== 58) return NaN;
  const y = digits(date, 0, 4);
  const mo = digits(date, 5, 2);
  const d = digits(date, 8, 2);
  const h = digits(time, 0, 2);
  const mi = digits(time, 3, 2);
  const sec = digits(time, 6, 2);
  if (Number.isNaN(y + mo + d + h + mi + sec)) return NaN;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return NaN;
  return plausible(Date.UTC(y, mo - 1, d, h, mi, sec));
}

/**
 * ISO 8601 / RFC 3339 timestamp between `start` and `end` of `s`: `2026-04-03T00:31:09.976660+00:00`,
 * `2022-11-14T06:54:03Z`. Fractions beyond ms are truncated; no offset = UTC.
 */
export function parseIsoMs(s: string, start: number, end: number): number {
  if (end - start < 19) return NaN;
  const y = digits(s, start, 4);
  const mo = digits(s, start + 5, 2);
  const d = digits(s, start + 8, 2);
  const h = digits(s, start + 11, 2);
  const mi = digits(s, start + 14, 2);
  const sec = digits(s, start + 17, 2);
  if (Number.isNaN(y + mo + d + h + mi + sec)) return NaN;
  const sep = s.charCodeAt(start + 10);
  if (s.charCodeAt(start + 4) !== 45 || (sep !== 84 && sep !== 116 && sep !== 32)) return NaN;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return NaN;
  let i = start + 19;
  let ms = 0;
  if (i < end && s.charCodeAt(i) === 46) {
    i++;
    let scale = 100;
    while (i < end) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      ms += c * scale;
      scale /= 10;
      i++;
    }
    ms = Math.floor(ms);
  }
  let offset = 0;
  if (i < end) {
    offset = parseTzOffsetMinutes(s.slice(i, end));
    if (Number.isNaN(offset)) return NaN;
  }
  return plausible(Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offset * 60_000);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Month index (0–11) of a three-letter English month name at `s[start]`, or -1. */
export function monthAt(s: string, start: number): number {
  const m = s.slice(start, start + 3).toLowerCase();
  return MONTHS.indexOf(m);
}

/**
 * RFC 3164 `Mmm dd hh:mm:ss` has no year: take the receive time's year, and move a year back or forward
 * when that puts the log more than ~6 months away (a December log read on 1 January, and vice versa).
 */
export function bsdTimestampMs(
  month: number,
  day: number,
  h: number,
  mi: number,
  sec: number,
  year: number | undefined,
  receivedAtMs: number,
): number {
  if (year !== undefined) return plausible(Date.UTC(year, month, day, h, mi, sec));
  const receivedYear = new Date(receivedAtMs).getUTCFullYear();
  let ms = Date.UTC(receivedYear, month, day, h, mi, sec);
  const halfYear = 183 * 86_400_000;
  if (ms - receivedAtMs > halfYear) ms = Date.UTC(receivedYear - 1, month, day, h, mi, sec);
  else if (receivedAtMs - ms > halfYear) ms = Date.UTC(receivedYear + 1, month, day, h, mi, sec);
  return plausible(ms);
}

export { digits as readDigits };
