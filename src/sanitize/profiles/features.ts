/** Feature checks (ml and the structured part of agent): character scans, no regex per field. */

import { NUMERIC_FEATURE_FIELDS } from '../fields.js';
import { mayContainIp, replaceIpLiterals } from '../ip.js';
import type { Scrub } from './identities.js';

function isNumeric(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > 24) return false;
  let i = value.charCodeAt(0) === 0x2d ? 1 : 0;
  let digits = 0;
  let dot = false;
  for (; i < length; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 0x30 && code <= 0x39) digits += 1;
    else if (code === 0x2e && !dot && digits > 0) dot = true;
    else return false;
  }
  return digits > 0 && value.charCodeAt(length - 1) !== 0x2e;
}

function isTimestamp(value: string): boolean {
  // 2024-05-01T12:00:00[.fff][Z|±hh:mm]: digits and - : . T Z + only, 19–35 chars
  if (value.length < 19 || value.length > 35 || value.charCodeAt(4) !== 0x2d || value.charCodeAt(10) !== 0x54) return false;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    const ok = (code >= 0x30 && code <= 0x3a) || code === 0x2d || code === 0x2e || code === 0x54 || code === 0x5a || code === 0x2b;
    if (!ok) return false;
  }
  return true;
}

const MAX_FEATURE_CHARS = 64;
const TOKEN_RUN_LIMIT = 16;

/**
 * A categorical feature: ≤ 64 characters of letters, digits, space and `_ . , : / ( ) + & ' -`;
 * no run of ≥ 16 token characters mixing letters and digits (an API key, a JWT segment); no `@`.
 */
function isCategorical(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > MAX_FEATURE_CHARS) return false;
  let run = 0;
  let runLetters = false;
  let runDigits = false;
  for (let i = 0; i < length; i += 1) {
    const code = value.charCodeAt(i);
    const letter = (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
    const digit = code >= 0x30 && code <= 0x39;
    if (letter || digit || code === 0x5f || code === 0x2d || code === 0x2b || code === 0x2f || code === 0x3d) {
      run += 1;
      runLetters ||= letter;
      runDigits ||= digit;
      if (run >= TOKEN_RUN_LIMIT && runLetters && runDigits) return false;
      if (code === 0x3d) return false; // '=' only appears in base64 padding or smuggled key=value
      continue;
    }
    run = 0;
    runLetters = false;
    runDigits = false;
    if (code === 0x20 || code === 0x2e || code === 0x2c || code === 0x3a || code === 0x28 || code === 0x29 || code === 0x26 || code === 0x27) continue;
    return false;
  }
  return true;
}

function containsIdentity(value: string, scrubs: readonly Scrub[]): boolean {
  if (scrubs.length === 0) return false;
  const lower = value.toLowerCase();
  for (const scrub of scrubs) {
    if (scrub.needle.length >= 3 && lower.includes(scrub.needle)) return true;
  }
  return false;
}

export function acceptFeature(name: string, value: string, scrubs: readonly Scrub[]): boolean {
  if (name === '@timestamp') return isTimestamp(value);
  if (NUMERIC_FEATURE_FIELDS.has(name)) return isNumeric(value);
  if (!isCategorical(value)) return false;
  if (mayContainIp(value) && replaceIpLiterals(value, () => '') !== value) return false;
  return !containsIdentity(value, scrubs);
}
