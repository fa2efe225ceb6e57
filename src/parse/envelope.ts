import { bsdTimestampMs, monthAt, parseIsoMs, readDigits } from './time.js';

/**
 * What precedes the FortiGate body, auto-detected per line:
 *
 * - a leading BOM (U+FEFF) and whitespace;
 * - `<PRI>` with or without a following space;
 * - RFC 5424 `1 TIMESTAMP HOST APP PROCID MSGID SD MSG` (SD `-` or `[…]` blocks);
 * - RFC 3164 `Mmm dd hh:mm:ss [host] ` (also wazuh's `YYYY Mmm dd hh:mm:ss host->ip `); when the token
 *   after the timestamp already contains `=` it is the body, not a host (legacy FortiOS 3/4 relays);
 * - a relay's `ISO-TIMESTAMP HOST ` prefix (`2026-04-03T00:31:09.976660+00:00 192.168.2.1 date=…`);
 * - nothing at all.
 *
 * The header time is kept as offsets and only parsed if the body has no usable time.
 */
export interface Envelope {
  /** Where the body starts. */
  bodyStart: number;
  /** Syslog PRI (0–191) or -1. */
  pri: number;
  /** Header host (RFC 5424 HOSTNAME, RFC 3164 host, relay's sender), or undefined. */
  host: string | undefined;
  /** 0 none, 1 ISO (RFC 5424 / relay), 2 BSD. */
  timeKind: number;
  timeStart: number;
  timeEnd: number;
  /** Envelope name for `log.syslog.version`-style diagnostics: 'rfc5424' when the header was RFC 5424. */
  rfc5424: boolean;
}

const SPACE = 32;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function skipSpaces(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) === SPACE) i++;
  return i;
}

function tokenEnd(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) > SPACE) i++;
  return i;
}

/** Whether the token at `i` contains `=` before the next space (i.e. it is already a key=value pair). */
function tokenHasEquals(s: string, i: number, end: number): boolean {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c <= SPACE) return false;
    if (c === 61) return true;
    i++;
  }
  return false;
}

/** `Mmm dd hh:mm:ss` at `i` (day may be space-padded); returns the index after it or -1. */
function bsdTimestampEnd(s: string, i: number, end: number): number {
  if (end - i < 15 || s.charCodeAt(i + 3) !== SPACE || monthAt(s, i) < 0) return -1;
  let j = i + 4;
  if (s.charCodeAt(j) === SPACE) j++;
  const dayStart = j;
  while (j < end && isDigit(s.charCodeAt(j)) && j - dayStart < 2) j++;
  if (j === dayStart || s.charCodeAt(j) !== SPACE) return -1;
  j++;
  if (end - j < 8) return -1;
  if (!isDigit(s.charCodeAt(j)) || s.charCodeAt(j + 2) !== 58 || s.charCodeAt(j + 5) !== 58) return -1;
  return j + 8;
}

function isIsoAt(s: string, i: number, end: number): boolean {
  return (
    end - i >= 19 &&
    isDigit(s.charCodeAt(i)) &&
    isDigit(s.charCodeAt(i + 3)) &&
    s.charCodeAt(i + 4) === 45 &&
    s.charCodeAt(i + 7) === 45 &&
    (s.charCodeAt(i + 10) === 84 || s.charCodeAt(i + 10) === 116)
  );
}

/** After a header timestamp: an optional host token, unless the next token is already the body. */
function readOptionalHost(s: string, i: number, end: number, env: Envelope): number {
  i = skipSpaces(s, i, end);
  if (i >= end || tokenHasEquals(s, i, end) || s.startsWith('CEF:', i)) return i;
  const hostEnd = tokenEnd(s, i, end);
  // A following body must exist; `host:` / `host->relay` forms are kept verbatim as the host.
  env.host = s.slice(i, hostEnd);
  return skipSpaces(s, hostEnd, end);
}

function parseRfc5424(s: string, i: number, end: number, env: Envelope): number {
  // VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
  i = skipSpaces(s, tokenEnd(s, i, end), end);
  const tsStart = i;
  const tsEnd = tokenEnd(s, i, end);
  if (tsEnd - tsStart > 1) {
    env.timeKind = 1;
    env.timeStart = tsStart;
    env.timeEnd = tsEnd;
  }
  i = skipSpaces(s, tsEnd, end);
  const hostEnd = tokenEnd(s, i, end);
  if (hostEnd - i > 0 && !(hostEnd - i === 1 && s.charCodeAt(i) === 45)) env.host = s.slice(i, hostEnd);
  i = skipSpaces(s, hostEnd, end);
  for (let field = 0; field < 3; field++) i = skipSpaces(s, tokenEnd(s, i, end), end); // APP, PROCID, MSGID
  if (i < end && s.charCodeAt(i) === 45) {
    i++;
  } else {
    while (i < end && s.charCodeAt(i) === 91) {
      // [id param="value" …]; `\"`, `\]` and `\\` are escapes inside param values.
      i++;
      let quoted = false;
      while (i < end) {
        const c = s.charCodeAt(i);
        if (c === 92) {
          i += 2;
          continue;
        }
        if (c === 34) quoted = !quoted;
        else if (c === 93 && !quoted) break;
        i++;
      }
      i++;
    }
  }
  i = skipSpaces(s, i, end);
  if (i < end && s.charCodeAt(i) === 0xfeff) i++;
  return i;
}

/** Parses the envelope of `s` into `env` (reused object) and returns it. */
export function readEnvelope(s: string, env: Envelope): Envelope {
  const end = s.length;
  env.pri = -1;
  env.host = undefined;
  env.timeKind = 0;
  env.timeStart = 0;
  env.timeEnd = 0;
  env.rfc5424 = false;
  let i = 0;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== 0xfeff && c > SPACE) break;
    i++;
  }
  if (i < end && s.charCodeAt(i) === 60) {
    // <PRI>
    let j = i + 1;
    let pri = 0;
    while (j < end && j - i <= 3 && isDigit(s.charCodeAt(j))) {
      pri = pri * 10 + (s.charCodeAt(j) - 48);
      j++;
    }
    if (j > i + 1 && j < end && s.charCodeAt(j) === 62 && pri <= 191) {
      env.pri = pri;
      i = j + 1;
      // RFC 5424: VERSION (1–2 digits) then a space.
      const v = s.charCodeAt(i);
      if (isDigit(v)) {
        let k = i + 1;
        if (k < end && isDigit(s.charCodeAt(k))) k++;
        if (k < end && s.charCodeAt(k) === SPACE && !tokenHasEquals(s, k + 1, end)) {
          env.rfc5424 = true;
          env.bodyStart = parseRfc5424(s, i, end, env);
          return env;
        }
      }
      i = skipSpaces(s, i, end);
      if (i < end && s.charCodeAt(i) === 0xfeff) i++;
    }
  }
  // wazuh's `2018 Apr 09 16:03:37 host ` = year + BSD timestamp
  let bsdStart = i;
  if (end - i > 5 && isDigit(s.charCodeAt(i)) && s.charCodeAt(i + 4) === SPACE && readDigits(s, i, 4) >= 1970) {
    bsdStart = i + 5;
  }
  const bsdEnd = bsdTimestampEnd(s, bsdStart, end);
  if (bsdEnd > 0) {
    env.timeKind = 2;
    env.timeStart = i;
    env.timeEnd = bsdEnd;
    env.bodyStart = readOptionalHost(s, bsdEnd, end, env);
    return env;
  }
  if (isIsoAt(s, i, end)) {
    const tsEnd = tokenEnd(s, i, end);
    env.timeKind = 1;
    env.timeStart = i;
    env.timeEnd = tsEnd;
    env.bodyStart = readOptionalHost(s, tsEnd, end, env);
    return env;
  }
  env.bodyStart = i;
  return env;
}

/** The header time in epoch ms, or NaN. */
export function envelopeTimeMs(s: string, env: Envelope, receivedAtMs: number): number {
  if (env.timeKind === 1) return parseIsoMs(s, env.timeStart, env.timeEnd);
  if (env.timeKind !== 2) return NaN;
  let i = env.timeStart;
  let year: number | undefined;
  if (isDigit(s.charCodeAt(i))) {
    year = readDigits(s, i, 4);
    i += 5;
  }
  const month = monthAt(s, i);
  let j = i + 4;
  if (s.charCodeAt(j) === SPACE) j++;
  let day = 0;
  while (isDigit(s.charCodeAt(j))) {
    day = day * 10 + (s.charCodeAt(j) - 48);
    j++;
  }
  j++;
  const h = readDigits(s, j, 2);
  const mi = readDigits(s, j + 3, 2);
  const sec = readDigits(s, j + 6, 2);
  if (Number.isNaN(h + mi + sec) || day < 1 || day > 31) return NaN;
  return bsdTimestampMs(month, day, h, mi, sec, year, receivedAtMs);
}
