import type { Collector } from './collector.js';
import { CEF_KEYS } from './fields.js';
import { KEY_CHAR, stripControl } from './kv.js';

/**
 * CEF body: `CEF:0|Fortinet|Fortigate|v7.2.8|00013|traffic:forward client-rst|3|ext` (the leading `CEF:` is
 * sometimes missing). Header fields are split on unescaped `|`; the extension is `key=value` pairs where a
 * value runs until the next ` key=` and is unescaped per CEF (`\=`, `\\`, `\n`, `\r`).
 *
 * Extension keys: standard CEF keys go through `CEF_KEYS` to the FortiGate key they carry; vendor keys
 * `FTNTFGT<key>`, `FortinetFortiGate<key>` and FortiAnalyzer's `ad.<key>` lose the prefix; then both go
 * through the normal FortiGate table. Header-derived values (signature id = logid, Name = `type:subtype …`,
 * `cat=type:subtype`) are only fallbacks: extension keys win.
 */

const PIPE = 124;
const BACKSLASH = 92;
const EQUALS = 61;

/** True when the body at `start` is CEF: `CEF:` or a bare version digit followed by `|`. */
export function looksLikeCef(s: string, start: number, end: number): boolean {
  if (end - start >= 4 && s.startsWith('CEF:', start)) return true;
  let i = start;
  while (i < end && i - start < 2) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  return i > start && i < end && s.charCodeAt(i) === PIPE;
}

function unescapeHeader(raw: string): string {
  if (raw.indexOf('\\') === -1) return stripControl(raw);
  return stripControl(raw.replace(/\\([|\\])/g, '$1'));
}

function unescapeExtension(raw: string): string {
  let value = raw;
  if (value.indexOf('\\') !== -1) {
    value = value.replace(/\\([=\\nr])/g, (_match: string, ch: string) =>
      ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch,
    );
  }
  // Values are single-line in the event (CEF `\n` becomes a space rather than a control char).
  let clean = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 10 || c === 13) clean += ' ';
    else if (c >= 32 && c !== 127) clean += value[i];
  }
  return clean.trim();
}

function cefKeyToFortigate(key: string): string {
  if (key.startsWith('FTNTFGT')) return key.slice(7);
  if (key.startsWith('FortinetFortiGate')) return key.slice(17);
  if (key.startsWith('ad.')) return key.slice(3);
  return CEF_KEYS.get(key) ?? key;
}

/** Returns false when the header is incomplete (fewer than seven `|`-separated fields). */
export function scanCef(s: string, start: number, end: number, collector: Collector): boolean {
  let i = s.startsWith('CEF:', start) ? start + 4 : start;
  const header: string[] = [];
  let fieldStart = i;
  while (i < end && header.length < 7) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === PIPE) {
      header.push(unescapeHeader(s.slice(fieldStart, i)));
      fieldStart = i + 1;
    }
    i++;
  }
  if (header.length < 7) return false;
  const extStart = fieldStart;

  let cefCategory: string | undefined;
  // Extension: find each `key=` at the start or after a space; the value ends before the next one.
  let keyStart = -1;
  let keyEnd = -1;
  let j = extStart;
  while (j < end && s.charCodeAt(j) === 32) j++;
  let tokenStart = j;
  while (j <= end) {
    // Is there a `key=` starting at tokenStart?
    if (j === tokenStart) {
      let k = j;
      while (k < end) {
        const c = s.charCodeAt(k);
        if (!(c < 128 && (KEY_CHAR[c] === 1 || c === 91 || c === 93))) break;
        k++;
      }
      if (k > j && k < end && s.charCodeAt(k) === EQUALS) {
        if (keyStart >= 0) {
          cefCategory = addExtension(s, keyStart, keyEnd, tokenStart - 1, collector, cefCategory);
          if (collector.truncatedFields) return true;
        }
        keyStart = j;
        keyEnd = k;
        j = k + 1;
        continue;
      }
    }
    if (j === end) break;
    const c = s.charCodeAt(j);
    if (c === BACKSLASH) {
      j += 2;
      continue;
    }
    if (c === 32) tokenStart = j + 1;
    j++;
  }
  if (keyStart >= 0) cefCategory = addExtension(s, keyStart, keyEnd, end, collector, cefCategory);

  // Header fallbacks (first wins, so extension keys already set take precedence).
  const signatureId = header[4] ?? '';
  const name = header[5] ?? '';
  const severity = header[6] ?? '';
  const version = header[3] ?? '';
  fallbackTypeSubtype(cefCategory, collector);
  const space = name.indexOf(' ');
  fallbackTypeSubtype(space === -1 ? name : name.slice(0, space), collector);
  if (signatureId !== '') collector.add('logid', signatureId);
  if (severity !== '') collector.add('cef_severity', severity);
  if (version !== '') collector.add('cef_device_version', version);
  if (name !== '') collector.add('cef_name', name);
  return true;
}

function fallbackTypeSubtype(value: string | undefined, collector: Collector): void {
  if (value === undefined) return;
  const colon = value.indexOf(':');
  if (colon <= 0) return;
  collector.add('type', value.slice(0, colon));
  collector.add('subtype', value.slice(colon + 1));
}

function addExtension(
  s: string,
  keyStart: number,
  keyEnd: number,
  valueEnd: number,
  collector: Collector,
  cefCategory: string | undefined,
): string | undefined {
  const rawKey = s.slice(keyStart, keyEnd);
  const value = unescapeExtension(s.slice(keyEnd + 1, Math.max(keyEnd + 1, valueEnd)));
  if (rawKey === 'cat') return cefCategory ?? value; // `event:system`, not the webfilter `cat` number
  collector.add(cefKeyToFortigate(rawKey), value);
  return cefCategory;
}
