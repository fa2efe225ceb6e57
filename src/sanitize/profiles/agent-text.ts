/** Agent text: one free-text field neutralized, secret-redacted, identities and addresses pseudonymized, capped. */

import { replaceIpLiterals } from '../ip.js';
import { capText, neutralizeText } from '../neutralize.js';
import type { PseudonymKind } from '../pseudonymize.js';
import { redactSecrets, type SecretKind } from '../secrets.js';
import type { EventIdentities, Scrub } from './identities.js';
import type { CompiledProfile } from './settings.js';

/** Text beyond this many characters is cut before the text pipeline runs (then capped for real). */
function preCapChars(maxTextChars: number): number {
  return Math.min(65_536, maxTextChars * 4 + 1024);
}

function isWordCode(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f || code >= 0x80;
}

/**
 * Replaces each occurrence (case-insensitive) of an identity in `text` with its pseudonym marker.
 * Names of ≥ 4 characters are replaced wherever they occur (a leak inside a longer word is still a
 * leak); shorter ones only as whole words, so a user `al` does not mangle every `al` in a sentence.
 */
function scrubIdentities(text: string, scrubs: readonly Scrub[], marker: (scrub: Scrub) => string): string {
  let out = text;
  for (const scrub of scrubs) {
    const lower = out.toLowerCase();
    // a case mapping that changes the length (rare scripts) would misalign indexes: work on the lowercase text
    if (lower.length !== out.length) out = lower;
    let from = lower.indexOf(scrub.needle);
    if (from < 0) continue;
    let result = '';
    let last = 0;
    while (from >= 0) {
      const end = from + scrub.needle.length;
      const whole = !isWordCode(lower.charCodeAt(from - 1)) && !isWordCode(lower.charCodeAt(end));
      if (scrub.needle.length >= 4 || whole) {
        result += out.slice(last, from) + marker(scrub);
        last = end;
      }
      from = lower.indexOf(scrub.needle, end);
    }
    out = result + out.slice(last);
  }
  return out;
}

interface SanitizedText {
  readonly text: string;
  readonly truncated: boolean;
  readonly redacted: SecretKind[];
}

export function sanitizeText(raw: string, profile: CompiledProfile, identities: EventIdentities, pseudonym: (kind: PseudonymKind, value: string) => string): SanitizedText {
  const limit = preCapChars(profile.maxTextChars);
  const sliced = raw.length > limit ? raw.slice(0, limit) : raw;
  const removedBefore = raw.length - sliced.length;
  let text = neutralizeText(sliced, { maxChars: Number.MAX_SAFE_INTEGER }).text;
  const redaction = redactSecrets(text);
  text = redaction.text;
  if (identities.scrubs.length > 0) text = scrubIdentities(text, identities.scrubs, (scrub) => `[${scrub.kind}:${pseudonym(scrub.kind, scrub.raw)}]`);
  text = replaceIpLiterals(text, (ip) => `[ip:${pseudonym('ip', ip.address)}]`);
  const capped = capText(text, profile.maxTextChars, removedBefore);
  return { text: capped.text, truncated: capped.truncated, redacted: redaction.kinds };
}
