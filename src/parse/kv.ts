import { learnNext, matchKeyAt, predictNext, type Collector } from './collector.js';

/**
 * FortiGate `default` (space-separated) and `csv` (comma-separated) key=value bodies.
 *
 * Hand-written char-code scanner: one pass, no regex, the only allocations are the key and value slices.
 *
 * - Keys are ASCII letters, digits, `_`, `-`, `.`; a token that is not `key=` (binary garbage, a stray `|`
 *   after a closing quote, the `13:03` of wazuh's `time=10: 13:03`) is skipped up to the next separator.
 * - A value starting with `"` runs to the next unescaped `"` (or the end of the frame if unterminated);
 *   nothing inside quotes is ever read as a field, so `url="/x?srcip=6.6.6.6 user=root"` cannot smuggle
 *   `source.ip`. Inside quotes `\"`, `\\` and `\=` are unescaped to `"`, `\`, `=` (Elastic keeps the
 *   backslashes; we unescape so the value is what the device meant); any other `\x` is kept verbatim.
 * - Bare values run to the next whitespace/control char (kv) or comma (csv).
 * - Control characters (NUL, 0x04, …) are separators outside quotes and are stripped inside them.
 */

const KEY_CHAR = new Uint8Array(128);
for (let c = 48; c <= 57; c++) KEY_CHAR[c] = 1;
for (let c = 65; c <= 90; c++) KEY_CHAR[c] = 1;
for (let c = 97; c <= 122; c++) KEY_CHAR[c] = 1;
KEY_CHAR[95] = 1; // _
KEY_CHAR[45] = 1; // -
KEY_CHAR[46] = 1; // .

const QUOTE = 34;
const BACKSLASH = 92;
const EQUALS = 61;
const COMMA = 44;

const FLAG_ESCAPE = 1;
const FLAG_CONTROL = 2;

/** Removes control characters (C0 and DEL) but keeps the printable text around them. */
export function stripControl(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 32 && c !== 127) out += value[i];
  }
  return out;
}

/** Unescapes `\"`, `\\`, `\=` inside a quoted value and strips control characters. */
function cleanQuoted(raw: string, flags: number): string {
  if ((flags & FLAG_ESCAPE) === 0) return stripControl(raw);
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < raw.length) {
      const next = raw.charCodeAt(i + 1);
      if (next === QUOTE || next === BACKSLASH || next === EQUALS) {
        out += raw[i + 1];
        i++;
        continue;
      }
    }
    if (c >= 32 && c !== 127) out += raw[i];
  }
  return out;
}

/** Index after the closing quote of the value last read by `readQuoted` (a second return value). */
let quotedNext = 0;

/**
 * Reads a quoted value whose opening quote is at `s[open]` and returns it (unescaped, control characters
 * stripped); `quotedNext` is set to the index after the closing quote.
 */
function readQuoted(s: string, open: number, end: number): string {
  let i = open + 1;
  const start = i;
  let flags = 0;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      flags |= FLAG_ESCAPE;
      i += 2;
      continue;
    }
    if (c < 32 || c === 127) flags |= FLAG_CONTROL;
    i++;
  }
  const close = i > end ? end : i;
  quotedNext = close + 1;
  const raw = s.slice(start, close);
  return flags === 0 ? raw : cleanQuoted(raw, flags);
}

/** Space-separated `key=value` pairs of `s[start, end)`. */
export function scanKeyValue(s: string, start: number, end: number, collector: Collector): void {
  let i = start;
  // Table entry of the previous key (-1: none yet) and the key predicted to come next (see `predictNext`).
  let prev = -1;
  let predicted = predictNext(-1);
  while (i < end) {
    let c = s.charCodeAt(i);
    if (c <= 32 || c === 127) {
      i++;
      continue;
    }
    const keyStart = i;
    let hash = 0;
    let known = -1;
    const predictedEnd = predicted >= 0 ? matchKeyAt(s, i, end, predicted) : -1;
    if (predictedEnd >= 0) {
      // The expected key: no hashing, no table probe.
      known = predicted;
      i = predictedEnd;
    } else {
      while (c < 128 && KEY_CHAR[c] === 1) {
        hash = (Math.imul(hash, 31) + c) | 0;
        i++;
        if (i >= end) break;
        c = s.charCodeAt(i);
      }
      if (i === keyStart || i >= end || c !== EQUALS) {
        // Not a pair: skip the token.
        while (i < end) {
          c = s.charCodeAt(i);
          if (c <= 32 || c === 127) break;
          i++;
        }
        continue;
      }
    }
    const keyEnd = i;
    i++; // '='
    if (collector.pairs >= collector.maxFields) {
      collector.addScanned(s, keyStart, keyEnd, hash, known, '');
      return;
    }
    let value: string;
    if (i < end && s.charCodeAt(i) === QUOTE) {
      value = readQuoted(s, i, end);
      i = quotedNext;
    } else {
      const valueStart = i;
      while (i < end) {
        c = s.charCodeAt(i);
        if (c <= 32 || c === 127) break;
        i++;
      }
      value = s.slice(valueStart, i);
    }
    const idx = collector.addScanned(s, keyStart, keyEnd, hash, known, value);
    if (idx >= 0) {
      if (predicted !== idx) learnNext(prev, idx);
      prev = idx;
      predicted = predictNext(idx);
    } else {
      predicted = -1;
    }
  }
}

/** Comma-separated `key=value` pairs (FortiGate `format csv`); quoted values may contain commas. */
export function scanCsv(s: string, start: number, end: number, collector: Collector): void {
  let i = start;
  while (i < end) {
    let c = s.charCodeAt(i);
    if (c <= 32 || c === COMMA || c === 127) {
      i++;
      continue;
    }
    const keyStart = i;
    let hash = 0;
    while (c < 128 && KEY_CHAR[c] === 1) {
      hash = (Math.imul(hash, 31) + c) | 0;
      i++;
      if (i >= end) break;
      c = s.charCodeAt(i);
    }
    if (i === keyStart || i >= end || c !== EQUALS) {
      while (i < end && s.charCodeAt(i) !== COMMA) i++;
      continue;
    }
    const keyEnd = i;
    i++;
    if (collector.pairs >= collector.maxFields) {
      collector.addScanned(s, keyStart, keyEnd, hash, -1, '');
      return;
    }
    if (i < end && s.charCodeAt(i) === QUOTE) {
      collector.addScanned(s, keyStart, keyEnd, hash, -1, readQuoted(s, i, end));
      i = quotedNext;
      while (i < end && s.charCodeAt(i) !== COMMA) i++; // stray text after the closing quote
      continue;
    }
    const valueStart = i;
    let control = false;
    while (i < end) {
      c = s.charCodeAt(i);
      if (c === COMMA) break;
      if (c < 32 || c === 127) control = true;
      i++;
    }
    let value = s.slice(valueStart, i);
    if (control) value = stripControl(value);
    collector.addScanned(s, keyStart, keyEnd, hash, -1, value.trim());
  }
}

/**
 * Whether the body at `start` is the csv format: its first pair's value is followed by a comma and
 * another `key=`, e.g. `date=2016-02-12,time=14:10:42,…` or `devname="x",devid=…`.
 */
export function looksLikeCsv(s: string, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (!(c < 128 && KEY_CHAR[c] === 1)) break;
    i++;
  }
  if (i === start || i >= end || s.charCodeAt(i) !== EQUALS) return false;
  i++;
  if (i < end && s.charCodeAt(i) === QUOTE) {
    i++;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) break;
      i += c === BACKSLASH ? 2 : 1;
    }
    i++;
  } else {
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c <= 32 || c === COMMA) break;
      i++;
    }
  }
  if (i >= end || s.charCodeAt(i) !== COMMA) return false;
  i++;
  const keyStart = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (!(c < 128 && KEY_CHAR[c] === 1)) break;
    i++;
  }
  return i > keyStart && i < end && s.charCodeAt(i) === EQUALS;
}

export { KEY_CHAR };
