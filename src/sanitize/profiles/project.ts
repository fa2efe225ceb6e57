/**
 * Projection of a normalized event onto an audience profile: the flat field/value list written to
 * that profile's stream.
 *
 * - `ml`: features and pseudonyms only. Allowlist: a field not listed is dropped. Every value must
 *   also have the shape of a feature (numbers where numbers belong, short categorical tokens
 *   elsewhere) and may not contain an address, an e-mail address, a token-like string or one of the
 *   event's own identities — a feature field that carries one (a crafted `action`, say) is dropped.
 * - `agent`: the same, plus allowlisted free text, each field neutralized, secret-redacted, with
 *   addresses and the event's identities replaced by pseudonyms, capped, and wrapped as data in the
 *   single JSON field `untrusted_text`; injection heuristics flag fields
 *   (`fortistream.injection_suspected`, `fortistream.injection_fields`).
 * - `soc`: every field (or the configured allowlist), control characters neutralized.
 *
 * No regex per field on the hot path: feature checks are character scans; agent text (a handful of
 * fields per event) goes through the full text pipeline.
 */

import type { NormalizedEvent } from '../../parse/event.js';
import { IDENTITY_FIELDS, IDENTITY_RULES, USER_NAME_FIELDS, type TextOrigin } from '../fields.js';
import { detectInjection } from '../injection.js';
import { neutralizeControl } from '../neutralize.js';
import type { Keyring, PseudonymKind, Pseudonymizer } from '../pseudonymize.js';
import type { SecretKind } from '../secrets.js';
import { sanitizeText } from './agent-text.js';
import { acceptFeature } from './features.js';
import { extractIdentities, isNull } from './identities.js';
import type { CompiledProfile } from './settings.js';

/** What a projection needs besides the event: the profile's keyring (ml/agent) and a pseudonym cache. */
export interface ProjectionContext {
  readonly keyring: Keyring | undefined;
  readonly pseudonymizer: Pseudonymizer;
}

/** One wrapped text field inside `untrusted_text`. */
export interface UntrustedTextEntry {
  readonly text: string;
  readonly origin: TextOrigin;
  readonly injection_suspected: boolean;
  readonly patterns?: string[];
  readonly truncated?: true;
  readonly redacted?: SecretKind[];
}

function projectSoc(event: NormalizedEvent, profile: CompiledProfile): string[] {
  const fields = event.fields;
  const allow = profile.fields;
  let out: string[] | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    const keep = allow === undefined || allow.has(name);
    const safeName = neutralizeControl(name);
    const safeValue = neutralizeControl(value);
    if (out === undefined && (!keep || safeName !== name || safeValue !== value)) out = fields.slice(0, i);
    if (out !== undefined && keep) out.push(safeName, safeValue);
  }
  return out ?? fields;
}

export function requireKeyring(profile: CompiledProfile, ctx: ProjectionContext): Keyring {
  if (!ctx.keyring) throw new Error(`profile ${profile.name} (${profile.type}) has no keyring loaded`);
  return ctx.keyring;
}

/**
 * Projects `event` onto `profile`: the flat field/value list of the profile's stream entry.
 * For `soc` with nothing to neutralize this may be `event.fields` itself — do not mutate it.
 * Throws only when an `ml`/`agent` context has no keyring (a wiring error, caught at start-up).
 */
export function projectEvent(event: NormalizedEvent, profile: CompiledProfile, ctx: ProjectionContext): string[] {
  if (profile.type === 'soc') return projectSoc(event, profile);
  const keyring = requireKeyring(profile, ctx);
  const pseudonym = (kind: PseudonymKind, value: string): string => ctx.pseudonymizer.pseudonymize(keyring, kind, value) ?? `${keyring.current}:-`;
  const allow = profile.fields as ReadonlySet<string>;
  const fields = event.fields;
  const identities = extractIdentities(fields);
  const out: string[] = [];

  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (!allow.has(name) || IDENTITY_FIELDS.has(name)) continue;
    const value = fields[i + 1] as string;
    if (acceptFeature(name, value, identities.scrubs)) out.push(name, value);
  }
  IDENTITY_RULES.forEach((rule, index) => {
    const value = identities.chosen[index];
    if (value === undefined || !allow.has(rule.output)) return;
    const result = ctx.pseudonymizer.pseudonymize(keyring, rule.kind, value);
    if (result !== undefined) out.push(rule.output, result);
  });
  if (profile.type === 'ml') return out;

  const wrapped: Record<string, UntrustedTextEntry> = {};
  const flagged: string[] = [];
  for (const spec of profile.textFields) {
    const raw = fieldValue(fields, spec.name);
    if (raw === undefined || isNull(raw.trim())) continue;
    const verdict = detectInjection(raw);
    const clean = sanitizeText(raw, profile, identities, pseudonym);
    if (clean.text === '') continue;
    wrapped[spec.name] = {
      text: clean.text,
      origin: spec.origin,
      injection_suspected: verdict.suspected,
      ...(verdict.suspected ? { patterns: verdict.patterns } : {}),
      ...(clean.truncated ? { truncated: true as const } : {}),
      ...(clean.redacted.length > 0 ? { redacted: clean.redacted } : {}),
    };
    if (verdict.suspected) flagged.push(spec.name);
  }
  // Names typed at a login prompt are attacker-controlled too: they travel only as pseudonyms, but
  // an injection attempt through them is still worth flagging.
  for (const name of USER_NAME_FIELDS) {
    const raw = fieldValue(fields, name);
    if (raw === undefined || isNull(raw.trim())) continue;
    const verdict = detectInjection(raw);
    if (!verdict.suspected) continue;
    wrapped[name] = { text: `[user:${pseudonym('user', raw)}]`, origin: 'external', injection_suspected: true, patterns: verdict.patterns };
    flagged.push(name);
  }
  out.push(
    'untrusted_text',
    JSON.stringify(wrapped),
    'fortistream.injection_suspected',
    flagged.length > 0 ? 'true' : 'false',
    'fortistream.injection_fields',
    flagged.join(','),
  );
  return out;
}

function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === name) return fields[i + 1];
  }
  return undefined;
}
