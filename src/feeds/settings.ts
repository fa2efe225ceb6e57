/**
 * The `feeds` section of a pipeline file: address lists served to FortiGate external connectors
 * (`config system external-resource`, type address) at `GET /v1/feeds/NAME.txt`, and optionally
 * pushed to a connector with `update-method push` (FortiOS ≥ 7.2.1).
 *
 * ```yaml
 * feeds:
 *   finance: { type: group, group: Finance, auth: { basic: { username: fgt, password_file: /etc/fortistream/feed.pw } } }
 *   blocked: { type: list, list: blocked, auth: { token_file: /etc/fortistream/feed.token }, push: { device: fgt_hq, connector: fs-blocked } }
 * ```
 *
 * Secrets stay in files (refused when others can read them) and are kept in memory only as
 * SHA-256 digests, so no log line or error can ever print one.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FortistreamError } from '../errors.js';
import { readSecretFile } from '../security/file-permissions.js';

export const FEED_DEFAULTS = {
  /** FortiGate's external resource limit as documented for its sibling products (1 MB); see README. */
  max_bytes: 1_048_576,
  snapshot_interval_seconds: 300,
} as const;

/** Feed names are the URL path segment before `.txt`. */
export const FEED_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Address list names: the last part of their Redis key. */
export const LIST_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Shortest token accepted in a token file (same floor as the API bearer tokens). */
export const MIN_FEED_TOKEN_LENGTH = 24;
/** A token travels in a query string: only characters that need no escaping there. */
const TOKEN_CHARACTERS = /^[A-Za-z0-9._~-]+$/;

const secretFile = z.string().min(1);

const basicAuthSchema = z
  .strictObject({
    username: z
      .string()
      .regex(/^[^\s:]{1,64}$/, '1 to 64 characters, no spaces or ":"')
      .describe('User name the FortiGate sends (`set username` of the external resource).'),
    password_file: secretFile.describe('File holding the password (first line; `set password` on the FortiGate, at most 128 characters). Refused when world-readable (chmod 600).'),
  })
  .describe('HTTP basic auth, as the FortiGate sends it with `set username` / `set password`.');

const feedAuthObjectSchema = z
  .strictObject({
    basic: basicAuthSchema.optional(),
    token_file: secretFile
      .optional()
      .describe(`File holding a token (first line, at least ${MIN_FEED_TOKEN_LENGTH} of A-Z a-z 0-9 . _ ~ -) that the FortiGate sends as ?token=… in the resource URL. Refused when world-readable (chmod 600).`),
  })
  .refine((auth) => (auth.basic === undefined) !== (auth.token_file === undefined), {
    message: 'give exactly one of basic or token_file (or auth: none)',
  });

export const feedAuthSchema = z
  .union([feedAuthObjectSchema, z.literal('none')])
  .default('none')
  .describe(
    'How a FortiGate authenticates: {basic: {username, password_file}}, {token_file} (?token= in the URL) or none. ' +
      'API bearer tokens with the read role are accepted in every case; with none they are the only way in.',
  );

export const feedPushSchema = z
  .strictObject({
    device: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits and _ . - (1 to 64 characters)')
      .describe('The FortiGate (a device of the actions settings) whose connector receives the changes.'),
    connector: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,35}$/, 'the external-resource name on the FortiGate: letters, digits and _ . - (1 to 35 characters)')
      .describe('Name of the `config system external-resource` entry (with `set update-method push`).'),
    snapshot_interval_seconds: z
      .int()
      .min(10)
      .max(86_400)
      .default(FEED_DEFAULTS.snapshot_interval_seconds)
      .describe('A full `snapshot` replaces the connector list this often (drift repair); one is also sent at start.'),
  })
  .describe('Push every change to the FortiGate (FortiOS ≥ 7.2.1, update-method push) through the actions queue.');

const commonFeedFields = {
  auth: feedAuthSchema,
  max_bytes: z
    .int()
    .min(64)
    .max(64 * 1024 * 1024)
    .default(FEED_DEFAULTS.max_bytes)
    .describe('Largest body served; a longer list is cut at a line boundary (metric fortistream_feed_truncated_total, warning log).'),
  push: feedPushSchema.optional(),
};

export const groupFeedSchema = z
  .strictObject({
    type: z.literal('group').describe('Addresses (source and tunnel IP) of live sessions whose groups include `group`.'),
    group: z.string().min(1).max(256).describe('Group name, matched case-insensitively against the session groups.'),
    ...commonFeedFields,
  })
  .describe('A feed that follows logins and logouts of one group.');

export const listFeedSchema = z
  .strictObject({
    type: z.literal('list').describe('Addresses of a Redis address list (blocked, revoked, …), expired entries left out.'),
    list: z.string().regex(LIST_NAME_PATTERN, 'letters, digits and _ . - (1 to 64 characters)').describe('Name of the address list.'),
    ...commonFeedFields,
  })
  .describe('A feed that serves one address list.');

export const feedSettingsSchema = z.discriminatedUnion('type', [groupFeedSchema, listFeedSchema]);

export const feedsSettingsSchema = z
  .record(z.string(), feedSettingsSchema)
  .superRefine((feeds, ctx) => {
    // checked here rather than by the record's key schema, whose message would not say what is allowed
    for (const name of Object.keys(feeds)) {
      if (!FEED_NAME_PATTERN.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'feed names are lower-case letters, digits, _ and - (1 to 63, starting with a letter or digit): the URL is /v1/feeds/NAME.txt' });
      }
    }
    // Two feeds pushing to one connector would overwrite each other's snapshots.
    const targets = new Map<string, string>();
    for (const [name, feed] of Object.entries(feeds)) {
      if (!feed.push) continue;
      const target = `${feed.push.device}/${feed.push.connector}`;
      const other = targets.get(target);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [name, 'push', 'connector'],
          message: `connector "${feed.push.connector}" on device "${feed.push.device}" is already fed by "${other}"`,
        });
      }
      targets.set(target, name);
    }
  })
  .describe('Address feeds for FortiGate external connectors, served at GET /v1/feeds/NAME.txt.');

export type FeedSettings = z.infer<typeof feedSettingsSchema>;
export type FeedsSettings = z.infer<typeof feedsSettingsSchema>;

/** What a feed serves. */
export type FeedSelector = { readonly type: 'group'; readonly group: string } | { readonly type: 'list'; readonly list: string };

/** A feed ready to serve: secrets replaced by their digests. */
export interface FeedDefinition {
  readonly name: string;
  readonly source: FeedSelector;
  readonly maxBytes: number;
  readonly auth: {
    readonly basic?: { readonly username: string; readonly passwordSha256: Buffer };
    readonly tokenSha256?: Buffer;
  };
  readonly push?: { readonly device: string; readonly connector: string; readonly snapshotIntervalMs: number };
}

/** Secrets read from a feed's files (plain text; only `defineFeed` sees them). */
export interface FeedSecrets {
  readonly password?: string;
  readonly token?: string;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A feed definition from its settings and the secrets its files hold. */
export function defineFeed(name: string, settings: FeedSettings, secrets: FeedSecrets = {}): FeedDefinition {
  const auth = settings.auth === 'none' ? {} : settings.auth;
  if (auth.basic && secrets.password === undefined) throw new Error(`feed ${name}: basic auth needs its password`);
  if (auth.token_file !== undefined && secrets.token === undefined) throw new Error(`feed ${name}: token auth needs its token`);
  return {
    name,
    source: settings.type === 'group' ? { type: 'group', group: settings.group } : { type: 'list', list: settings.list },
    maxBytes: settings.max_bytes,
    auth: {
      ...(auth.basic && secrets.password !== undefined ? { basic: { username: auth.basic.username, passwordSha256: sha256(secrets.password) } } : {}),
      ...(auth.token_file !== undefined && secrets.token !== undefined ? { tokenSha256: sha256(secrets.token) } : {}),
    },
    ...(settings.push
      ? {
          push: {
            device: settings.push.device,
            connector: settings.push.connector,
            snapshotIntervalMs: settings.push.snapshot_interval_seconds * 1000,
          },
        }
      : {}),
  };
}

/** The first line of a secret file, or a problem (never containing the secret). */
async function readSecretLine(path: string): Promise<{ ok: true; value: string } | { ok: false; problem: string }> {
  const read = await readSecretFile(path);
  if (!read.ok) return read;
  const value = (read.data.toString('utf8').split(/\r?\n/)[0] ?? '').trim();
  if (value === '') return { ok: false, problem: 'is empty (the secret is its first line)' };
  return { ok: true, value };
}

/**
 * Reads every feed's secret files and returns the feeds ready to serve. All problems are reported
 * together (FST_FEED_SECRET_INVALID), each naming the feed and the file, never a secret.
 */
export async function loadFeeds(settings: FeedsSettings | undefined): Promise<FeedDefinition[]> {
  const feeds: FeedDefinition[] = [];
  const details: string[] = [];
  for (const [name, feed] of Object.entries(settings ?? {})) {
    const auth = feed.auth === 'none' ? {} : feed.auth;
    const secrets: { password?: string; token?: string } = {};
    if (auth.basic) {
      const read = await readSecretLine(auth.basic.password_file);
      if (!read.ok) details.push(`feeds.${name}.auth.basic.password_file: ${auth.basic.password_file} ${read.problem}`);
      else if (read.value.length > 128) details.push(`feeds.${name}.auth.basic.password_file: ${auth.basic.password_file} holds more than 128 characters (the FortiGate's limit)`);
      else secrets.password = read.value;
    }
    if (auth.token_file !== undefined) {
      const read = await readSecretLine(auth.token_file);
      if (!read.ok) details.push(`feeds.${name}.auth.token_file: ${auth.token_file} ${read.problem}`);
      else if (read.value.length < MIN_FEED_TOKEN_LENGTH || !TOKEN_CHARACTERS.test(read.value)) {
        details.push(`feeds.${name}.auth.token_file: ${auth.token_file} must hold at least ${MIN_FEED_TOKEN_LENGTH} characters of A-Z a-z 0-9 . _ ~ - (value not shown)`);
      } else secrets.token = read.value;
    }
    if (details.length === 0) feeds.push(defineFeed(name, feed, secrets));
  }
  if (details.length > 0) {
    throw new FortistreamError('FST_FEED_SECRET_INVALID', `${details.length} feed secret file(s) cannot be used`, { details });
  }
  return feeds;
}
