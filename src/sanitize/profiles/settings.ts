/** Settings of a profile in the pipeline file, checked once, and their compiled, hot-path form. */

import { z } from 'zod';
import {
  AGENT_DEFAULT_FIELDS,
  AGENT_DEFAULT_TEXT_FIELDS,
  DEFAULT_MAX_TEXT_CHARS,
  DEFAULT_PROFILE_STREAMS,
  IDENTITY_FIELDS,
  ML_DEFAULT_FIELDS,
  ML_FEATURE_FIELDS,
  PSEUDONYM_FIELDS,
  TEXT_FIELDS,
  textOrigin,
  type ProfileType,
  type TextOrigin,
} from '../fields.js';
import { keyringSourceSchema, type KeyringSource } from '../keyring.js';

const PROFILE_TYPES = ['ml', 'agent', 'soc'] as const;

/** Settings of one profile in the pipeline file. */
export const profileSettingsSchema = z
  .object({
    type: z.enum(PROFILE_TYPES).describe('ml: features and pseudonyms; agent: the same plus neutralized text; soc: full detail.'),
    /** Stream; in a pipeline file after the key prefix (default `events:<type>`); `compileProfile` alone defaults to `fortistream:events:<type>`. */
    stream: z.string().min(1).optional().describe('The stream, after the key prefix (default events:<type>); one writer per stream.'),
    /** `MAXLEN ~` of the stream. */
    max_len: z.number().int().positive().optional().describe('Approximate cap of the stream (XADD MAXLEN ~); default 1000000.'),
    /** Output allowlist replacing the default of the type (for `soc`: restricts the fields passed). */
    fields: z.array(z.string().min(1)).min(1).optional().describe("Output allowlist replacing the type's default (soc: restricts the fields passed); raw identity and free-text fields are refused for ml/agent."),
    /** `agent` only: free-text fields wrapped in `untrusted_text`, replacing the default list. */
    text_fields: z.array(z.string().min(1)).optional().describe('agent only: free-text fields wrapped in untrusted_text, replacing the default list.'),
    /** `agent` only: cap per text field, in characters (a truncation marker comes on top). */
    max_text_chars: z.number().int().min(32).max(65_536).optional().describe('agent only: cap per text field in characters (default 512; a truncation marker comes on top).'),
    /** `ml`/`agent`: where the pseudonymization keys come from (a path, `{file}` or `{env}`). */
    keyring: keyringSourceSchema.optional().describe('ml/agent (required): where the pseudonymization keys come from: a path, {file: path} or {env: NAME}.'),
    /** `ml`/`agent`: also write threshold alerts, projected like events, to `<stream>:alerts`. */
    alerts: z.boolean().optional().describe('ml/agent only: also write threshold alerts, pseudonymized like the events, to <stream>:alerts (default false).'),
  })
  .strict()
  .superRefine((settings, ctx) => {
    if (settings.type !== 'agent') {
      if (settings.text_fields !== undefined) ctx.addIssue({ code: 'custom', path: ['text_fields'], message: `only the agent profile carries text; ${settings.type} has none` });
      if (settings.max_text_chars !== undefined) ctx.addIssue({ code: 'custom', path: ['max_text_chars'], message: `only applies to the agent profile` });
    }
    if (settings.type === 'soc') {
      if (settings.keyring !== undefined) ctx.addIssue({ code: 'custom', path: ['keyring'], message: 'the soc profile does not pseudonymize; remove keyring' });
      if (settings.alerts === true) ctx.addIssue({ code: 'custom', path: ['alerts'], message: 'SOC consumers read the alerts stream itself (alerts.stream); alerts: true is for ml and agent profiles' });
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
  /** `<stream>:alerts` when the profile also carries threshold alerts (`alerts: true`). */
  readonly alertsStream: string | undefined;
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
    alertsStream: settings.alerts === true ? `${settings.stream ?? DEFAULT_PROFILE_STREAMS[settings.type]}:alerts` : undefined,
  });
}
