/**
 * Pseudonymization keyrings: loading from a file or an environment variable, validation, and
 * re-reading on change or SIGHUP.
 *
 * Format (JSON, or the same in YAML), one keyring per profile:
 *
 * ```json
 * {
 *   "current": "k2",
 *   "keys": [
 *     { "id": "k1", "secret_base64": "…", "retire_after": "2026-12-31T00:00:00Z" },
 *     { "id": "k2", "secret_base64": "…" }
 *   ]
 * }
 * ```
 *
 * - `id`: 1–32 characters `[A-Za-z0-9_-]` (it prefixes every pseudonym, before a colon).
 * - `secret_base64`: standard or URL-safe base64 of at least 32 random bytes
 *   (`openssl rand -base64 32`).
 * - `retire_after` (optional, RFC 3339 with zone): end of the rotation overlap; after it the key is
 *   no longer offered by `pseudonymizeAll`. A non-current key without it stays live until removed.
 * - `current`: the id of the key that signs new pseudonyms.
 *
 * The file must not be world-readable or world-writable (`chmod 600`, or `0640` with a group);
 * in Kubernetes set `defaultMode: 0400` on the secret volume. Errors name the file and the key path
 * and never include a secret.
 */

import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Keyring, KeyringKey } from './pseudonymize.js';

/** Minimum decoded secret length in bytes (HMAC-SHA-256 block security). */
export const MIN_SECRET_BYTES = 32;

export type KeyringErrorCode = 'keyring_unreadable' | 'keyring_permissions' | 'keyring_invalid' | 'keyring_env_missing';

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  constructor(
    readonly code: KeyringErrorCode,
    /** The file path or `env:NAME`. */
    readonly origin: string,
    message: string,
  ) {
    super(`${origin}: ${message}`);
  }
}

const kidSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, { message: 'must be 1–32 characters of A–Z, a–z, 0–9, "_" or "-"' });

const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2})$/;

/** Schema of a keyring document. Messages never echo values (the secrets are in there). */
export const keyringDocumentSchema = z
  .object({
    current: kidSchema,
    keys: z
      .array(
        z
          .object({
            id: kidSchema,
            secret_base64: z.string().superRefine((value, ctx) => {
              const trimmed = value.trim();
              if (!BASE64.test(trimmed)) {
                ctx.addIssue({ code: 'custom', message: 'is not base64 (value not shown)' });
                return;
              }
              const bytes = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64').length;
              if (bytes < MIN_SECRET_BYTES) {
                ctx.addIssue({ code: 'custom', message: `decodes to ${bytes} bytes; at least ${MIN_SECRET_BYTES} random bytes are required (value not shown)` });
              }
            }),
            retire_after: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time with a zone, e.g. 2026-12-31T00:00:00Z' }).optional(),
          })
          .strict(),
      )
      .min(1, { message: 'needs at least one key' }),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const seen = new Set<string>();
    doc.keys.forEach((key, index) => {
      if (seen.has(key.id)) ctx.addIssue({ code: 'custom', path: ['keys', index, 'id'], message: `duplicate key id "${key.id}"` });
      seen.add(key.id);
    });
    if (!seen.has(doc.current)) ctx.addIssue({ code: 'custom', path: ['current'], message: `names no key in "keys" ("${doc.current}")` });
  });

export type KeyringDocument = z.infer<typeof keyringDocumentSchema>;

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
      // zod's own messages for type errors say what was expected and received, never the value
      return `${path} ${issue.message}`;
    })
    .join('; ');
}

/** Parses and validates a keyring document (JSON or YAML text). Throws `KeyringError`, never echoing a secret. */
export function parseKeyring(text: string, origin: string): Keyring {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: false });
  } catch (error) {
    // The parser's message quotes the offending source line, which may hold a secret: keep the position only.
    const position =
      typeof error === 'object' && error !== null && 'linePos' in error && Array.isArray(error.linePos) && error.linePos[0]
        ? ` at line ${String((error.linePos[0] as { line: number }).line)}, column ${String((error.linePos[0] as { col: number }).col)}`
        : '';
    throw new KeyringError('keyring_invalid', origin, `is not valid JSON or YAML${position}`);
  }
  const parsed = keyringDocumentSchema.safeParse(document);
  if (!parsed.success) throw new KeyringError('keyring_invalid', origin, `invalid keyring: ${formatIssues(parsed.error)}`);
  const keys = new Map<string, KeyringKey>();
  for (const key of parsed.data.keys) {
    const trimmed = key.secret_base64.trim();
    const secret = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
    keys.set(key.id, key.retire_after === undefined ? { secret } : { secret, notAfterMs: Date.parse(key.retire_after) });
  }
  return Object.freeze({ current: parsed.data.current, keys });
}

/** Refuses files others can read or write; returns a message, or undefined when the mode is fine. */
export function permissionProblem(mode: number): string | undefined {
  if (process.platform === 'win32') return undefined;
  if (mode & 0o002) return `is world-writable (mode ${(mode & 0o777).toString(8)}); anyone could replace the keys. Run: chmod 600 <file>`;
  if (mode & 0o004) {
    return `is world-readable (mode ${(mode & 0o777).toString(8)}); pseudonyms are only as safe as this file. Run: chmod 600 <file> (Kubernetes: defaultMode 0400 on the secret volume)`;
  }
  return undefined;
}

/** Reads, checks the permissions of, and parses a keyring file. */
export async function loadKeyringFile(path: string): Promise<Keyring> {
  let text: string;
  try {
    // stat the opened handle, not the path, so the file checked is the file read
    const handle = await open(path, 'r');
    try {
      const problem = permissionProblem((await handle.stat()).mode);
      if (problem) throw new KeyringError('keyring_permissions', path, problem);
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof KeyringError) throw error;
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    throw new KeyringError('keyring_unreadable', path, `cannot be read (${code})`);
  }
  return parseKeyring(text, path);
}

/** Parses the keyring held by environment variable `name` (what a secrets sidecar renders). */
export function loadKeyringEnv(name: string, env: NodeJS.ProcessEnv = process.env): Keyring {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new KeyringError('keyring_env_missing', `env:${name}`, 'is not set or empty');
  return parseKeyring(value, `env:${name}`);
}

/** Where a profile's keyring comes from (pipeline file: `keyring: path`, `{file: path}` or `{env: NAME}`). */
export type KeyringSource = { readonly file: string } | { readonly env: string };

export const keyringSourceSchema = z.union([
  z.string().min(1).transform((file): KeyringSource => ({ file })),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an environment variable name' }) }).strict(),
]);

export async function loadKeyring(source: KeyringSource, env: NodeJS.ProcessEnv = process.env): Promise<Keyring> {
  return 'file' in source ? loadKeyringFile(source.file) : loadKeyringEnv(source.env, env);
}

/** A digest of the key material, to tell a real change from a rewrite with the same content. */
export function keyringFingerprint(keyring: Keyring): string {
  const hash = createHash('sha256').update(keyring.current).update('\0');
  for (const kid of [...keyring.keys.keys()].sort()) {
    const key = keyring.keys.get(kid) as KeyringKey;
    hash.update(kid).update('\0').update(key.secret).update('\0').update(String(key.notAfterMs ?? '')).update('\0');
  }
  return hash.digest('hex');
}

export type KeyringReloadOutcome = 'changed' | 'unchanged' | 'failed';

export interface KeyringWatcher {
  /** The keyring in force (the last one that loaded cleanly). */
  current(): Keyring;
  /** Re-reads the file now (SIGHUP). A bad file keeps the old keyring and is reported to `onError`. */
  reload(): Promise<KeyringReloadOutcome>;
  close(): void;
}

/**
 * Loads `path`, then watches its directory (secret sidecars and Kubernetes replace files by rename
 * or by swapping a `..data` symlink, which a watch on the file itself would miss) and re-reads the
 * file after `debounceMs` of quiet. `onChange` gets each new keyring; `onError` each failed read.
 * The first load throws like `loadKeyringFile`.
 */
export async function watchKeyring(
  path: string,
  onChange: (keyring: Keyring) => void,
  onError: (error: KeyringError) => void,
  options: { readonly debounceMs?: number } = {},
): Promise<KeyringWatcher> {
  const debounceMs = options.debounceMs ?? 200;
  let keyring = await loadKeyringFile(path);
  let fingerprint = keyringFingerprint(keyring);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const file = basename(path);

  const reload = async (): Promise<KeyringReloadOutcome> => {
    let next: Keyring;
    try {
      next = await loadKeyringFile(path);
    } catch (error) {
      onError(error instanceof KeyringError ? error : new KeyringError('keyring_unreadable', path, 'cannot be read'));
      return 'failed';
    }
    const nextFingerprint = keyringFingerprint(next);
    if (nextFingerprint === fingerprint) return 'unchanged';
    keyring = next;
    fingerprint = nextFingerprint;
    onChange(next);
    return 'changed';
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (closed) return;
      if (name !== null && name !== file && !name.startsWith('..')) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (!closed) void reload();
      }, debounceMs);
      timer.unref();
    });
    watcher.on('error', () => onError(new KeyringError('keyring_unreadable', path, 'directory watch failed; changes are picked up on SIGHUP only')));
  } catch {
    onError(new KeyringError('keyring_unreadable', path, 'cannot watch the directory; changes are picked up on SIGHUP only'));
  }

  return {
    current: () => keyring,
    reload,
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
