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

import { z } from 'zod';
import type { NormalizedEvent } from '../parse/event.js';
import {
  AGENT_DEFAULT_FIELDS,
  AGENT_DEFAULT_TEXT_FIELDS,
  DEFAULT_MAX_TEXT_CHARS,
  DEFAULT_PROFILE_STREAMS,
  DEVICE_NAME_FIELDS,
  GROUP_NAME_FIELDS,
  HOST_NAME_FIELDS,
  IDENTITY_FIELDS,
  IDENTITY_RULES,
  ML_DEFAULT_FIELDS,
  ML_FEATURE_FIELDS,
  NULL_SENTINELS,
  NUMERIC_FEATURE_FIELDS,
  PSEUDONYM_FIELDS,
  TEXT_FIELDS,
  USER_NAME_FIELDS,
  textOrigin,
  type ProfileType,
  type TextOrigin,
} from './fields.js';
import { detectInjection } from './injection.js';
import { mayContainIp, replaceIpLiterals } from './ip.js';
import { keyringSourceSchema, type KeyringSource } from './keyring.js';
import { capText, neutralizeControl, neutralizeText } from './neutralize.js';
import type { Keyring, PseudonymKind, Pseudonymizer } from './pseudonymize.js';
import { redactSecrets, type SecretKind } from './secrets.js';

const PROFILE_TYPES = ['ml', 'agent', 'soc'] as const;

/** Settings of one profile in the pipeline file. */
export const profileSettingsSchema = z
  .object({
    type: z.enum(PROFILE_TYPES),
    /** Stream; in a pipeline file after the key prefix (default `events:<type>`); `compileProfile` alone defaults to `fortistream:events:<type>`. */
    stream: z.string().min(1).optional(),
    /** `MAXLEN ~` of the stream. */
    max_len: z.number().int().positive().optional(),
    /** Output allowlist replacing the default of the type (for `soc`: restricts the fields passed). */
    fields: z.array(z.string().min(1)).min(1).optional(),
    /** `agent` only: free-text fields wrapped in `untrusted_text`, replacing the default list. */
    text_fields: z.array(z.string().min(1)).optional(),
    /** `agent` only: cap per text field, in characters (a truncation marker comes on top). */
    max_text_chars: z.number().int().min(32).max(65_536).optional(),
    /** `ml`/`agent`: where the pseudonymization keys come from (a path, `{file}` or `{env}`). */
    keyring: keyringSourceSchema.optional(),
  })
  .strict()
  .superRefine((settings, ctx) => {
    if (settings.type !== 'agent') {
      if (settings.text_fields !== undefined) ctx.addIssue({ code: 'custom', path: ['text_fields'], message: `only the agent profile carries text; ${settings.type} has none` });
      if (settings.max_text_chars !== undefined) ctx.addIssue({ code: 'custom', path: ['max_text_chars'], message: `only applies to the agent profile` });
    }
    if (settings.type === 'soc') {
      if (settings.keyring !== undefined) ctx.addIssue({ code: 'custom', path: ['keyring'], message: 'the soc profile does not pseudonymize; remove keyring' });
      return;
    }
    if (settings.keyring === undefined) {
      ctx.addIssue({ code: 'custom', path: ['keyring'], message: `the ${settings.type} profile needs a keyring (a file path, {file: path} or {env: NAME})` });
    }
    settings.fields?.forEach((field, index) => {
      if (IDENTITY_FIELDS.has(field)) {
        ctx.addIssue({ code: 'custom', path: ['fields', index], message: `"${field}" holds a raw identity; ${settings.type} carries its pseudonym instead (${PSEUDONYM_FIELDS.join(', ')})` });
      } else if (TEXT_FIELDS.has(field) && !ML_FEATURE_FIELDS.includes(field)) {
        const hint = settings.type === 'agent' ? 'list it under text_fields' : 'ml carries no free text';
        ctx.addIssue({ code: 'custom', path: ['fields', index], message: `"${field}" is free text; ${hint}` });
      } else if (field === 'untrusted_text' || field.startsWith('fortistream.injection')) {
        ctx.addIssue({ code: 'custom', path: ['fields', index], message: `"${field}" is written by the agent profile itself` });
      }
    });
    settings.text_fields?.forEach((field, index) => {
      if (IDENTITY_FIELDS.has(field)) {
        ctx.addIssue({ code: 'custom', path: ['text_fields', index], message: `"${field}" holds a raw identity and cannot be carried as text` });
      }
    });
  });

export type ProfileSettings = z.input<typeof profileSettingsSchema>;

export interface TextFieldSpec {
  readonly name: string;
  readonly origin: TextOrigin;
}

/** A profile ready for the hot path (sets built once). */
export interface CompiledProfile {
  readonly name: string;
  readonly type: ProfileType;
  readonly stream: string;
  readonly maxLen: number | undefined;
  /** Output allowlist; `undefined` for a `soc` profile that passes every field. */
  readonly fields: ReadonlySet<string> | undefined;
  readonly textFields: readonly TextFieldSpec[];
  readonly maxTextChars: number;
  readonly keyring: KeyringSource | undefined;
}

/** Builds the hot-path form of a profile from its (already validated) settings. */
export function compileProfile(name: string, input: ProfileSettings): CompiledProfile {
  const settings = profileSettingsSchema.parse(input);
  const defaults = settings.type === 'ml' ? ML_DEFAULT_FIELDS : settings.type === 'agent' ? AGENT_DEFAULT_FIELDS : undefined;
  const fieldList = settings.fields ?? defaults;
  const textList = settings.type === 'agent' ? (settings.text_fields ?? AGENT_DEFAULT_TEXT_FIELDS) : [];
  return Object.freeze({
    name,
    type: settings.type,
    stream: settings.stream ?? DEFAULT_PROFILE_STREAMS[settings.type],
    maxLen: settings.max_len,
    fields: fieldList ? new Set(fieldList) : undefined,
    textFields: Object.freeze([...new Set(textList)].map((field) => ({ name: field, origin: textOrigin(field) }))),
    maxTextChars: settings.max_text_chars ?? DEFAULT_MAX_TEXT_CHARS,
    keyring: settings.keyring,
  });
}

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

// ---------------------------------------------------------------------------------------------
// per-event identity extraction

interface FieldRole {
  readonly rule: number;
  readonly rank: number;
}

const IDENTITY_ROLES = new Map<string, FieldRole[]>();
IDENTITY_RULES.forEach((rule, ruleIndex) => {
  rule.from.forEach((field, rank) => {
    const roles = IDENTITY_ROLES.get(field) ?? [];
    roles.push({ rule: ruleIndex, rank });
    IDENTITY_ROLES.set(field, roles);
  });
});

/** Values scrubbed from agent text, by the pseudonym kind that replaces them. */
const SCRUB_KINDS = new Map<string, PseudonymKind>([
  ...USER_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'user']),
  ...GROUP_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'group']),
  ...DEVICE_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'device']),
  ...HOST_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'host']),
]);

interface Scrub {
  readonly kind: PseudonymKind;
  readonly raw: string;
  /** NFKC + lowercase, as the neutralized text is searched. */
  readonly needle: string;
}

interface EventIdentities {
  readonly chosen: (string | undefined)[];
  readonly scrubs: Scrub[];
}

function isNull(value: string): boolean {
  return NULL_SENTINELS.has(value);
}

function extractIdentities(fields: readonly string[]): EventIdentities {
  const chosen: (string | undefined)[] = new Array<string | undefined>(IDENTITY_RULES.length);
  const ranks: number[] = new Array<number>(IDENTITY_RULES.length).fill(Number.POSITIVE_INFINITY);
  const scrubs: Scrub[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    const roles = IDENTITY_ROLES.get(name);
    const scrubKind = SCRUB_KINDS.get(name);
    if ((!roles && !scrubKind) || isNull(value.trim())) continue;
    if (roles) {
      for (const role of roles) {
        if (role.rank < (ranks[role.rule] as number)) {
          ranks[role.rule] = role.rank;
          chosen[role.rule] = value;
        }
      }
    }
    if (scrubKind) {
      const needle = value.normalize('NFKC').trim().toLowerCase();
      if (needle.length > 0 && !scrubs.some((s) => s.needle === needle)) scrubs.push({ kind: scrubKind, raw: value, needle });
    }
  }
  // longest first, so `alice.smith` is replaced before `alice`
  scrubs.sort((a, b) => b.needle.length - a.needle.length);
  return { chosen, scrubs };
}

// ---------------------------------------------------------------------------------------------
// feature checks (ml and the structured part of agent)

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

function acceptFeature(name: string, value: string, scrubs: readonly Scrub[]): boolean {
  if (name === '@timestamp') return isTimestamp(value);
  if (NUMERIC_FEATURE_FIELDS.has(name)) return isNumeric(value);
  if (!isCategorical(value)) return false;
  if (mayContainIp(value) && replaceIpLiterals(value, () => '') !== value) return false;
  return !containsIdentity(value, scrubs);
}

// ---------------------------------------------------------------------------------------------
// agent text

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

function sanitizeText(raw: string, profile: CompiledProfile, identities: EventIdentities, pseudonym: (kind: PseudonymKind, value: string) => string): SanitizedText {
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

// ---------------------------------------------------------------------------------------------
// projection

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

function requireKeyring(profile: CompiledProfile, ctx: ProjectionContext): Keyring {
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
