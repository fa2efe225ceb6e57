/**
 * Bearer tokens of the HTTP API, from a YAML or JSON file:
 *
 * ```yaml
 * tokens:
 *   - { name: soc-dashboard, token_sha256: "<64 hex digits>", roles: [read] }
 *   - { name: ops, token: "<a long random string>", roles: [read, write, admin] }
 * ```
 *
 * `token_sha256` (hex SHA-256 of the token: `printf %s "$TOKEN" | sha256sum`) is preferred: the file
 * then holds nothing that grants access. Plain `token` entries are hashed at load. A presented token
 * is hashed and compared with every entry in constant time (`timingSafeEqual`, no early exit).
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FortistreamError } from '../errors.js';
import { permissionProblem } from '../sanitize/keyring.js';

export const API_ROLES = ['read', 'write', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

const tokenEntrySchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'letters, digits and _ . @ - (1 to 64 characters)'),
    token_sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'the hex SHA-256 of the token (64 hex digits)').optional(),
    token: z.string().min(24, 'at least 24 characters (value not shown)').optional(),
    roles: z.array(z.enum(API_ROLES)).min(1),
  })
  .refine((entry) => (entry.token === undefined) !== (entry.token_sha256 === undefined), {
    message: 'give exactly one of token_sha256 or token',
  });

export const tokenFileSchema = z.strictObject({ tokens: z.array(tokenEntrySchema) });

export interface ApiPrincipal {
  readonly name: string;
  readonly roles: ReadonlySet<ApiRole>;
}

export interface TokenStore {
  /** The principal of an `Authorization` header value, or undefined (missing, malformed or unknown token). */
  authenticate(authorization: string | undefined): ApiPrincipal | undefined;
}

interface StoredToken extends ApiPrincipal {
  readonly digest: Buffer;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Builds a store from a parsed document (already validated or not). `origin` labels errors. */
export function createTokenStore(document: unknown, origin: string): TokenStore {
  const parsed = tokenFileSchema.safeParse(document);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => `${origin}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
    throw new FortistreamError('FST_KEYRING_INVALID', `API token file ${origin} is invalid`, { details });
  }
  const tokens: StoredToken[] = parsed.data.tokens.map((entry) => ({
    name: entry.name,
    roles: new Set(entry.roles),
    digest: entry.token_sha256 !== undefined ? Buffer.from(entry.token_sha256, 'hex') : sha256(entry.token ?? ''),
  }));
  return {
    authenticate(authorization) {
      if (authorization === undefined) return undefined;
      const match = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(authorization);
      if (!match) return undefined;
      const digest = sha256(match[1] as string);
      let found: StoredToken | undefined;
      // every entry is compared, so the time taken does not say which one matched
      for (const token of tokens) {
        if (timingSafeEqual(digest, token.digest) && found === undefined) found = token;
      }
      return found;
    },
  };
}

/** Reads a token file; refuses a world-writable file, and a world-readable one holding plain tokens. */
export async function loadTokenFile(path: string): Promise<TokenStore> {
  let text: string;
  let mode: number;
  try {
    const handle = await open(path, 'r');
    try {
      mode = (await handle.stat()).mode;
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    throw new FortistreamError('FST_KEYRING_INVALID', `API token file ${path} cannot be read (${code})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: false });
  } catch {
    throw new FortistreamError('FST_KEYRING_INVALID', `API token file ${path} is not valid JSON or YAML`);
  }
  const store = createTokenStore(document, path);
  const problem = permissionProblem(mode);
  const holdsPlainTokens = /(^|[\s{,"'])token["']?\s*:/m.test(text);
  if (problem !== undefined && ((mode & 0o002) !== 0 || holdsPlainTokens)) {
    throw new FortistreamError('FST_KEYRING_INVALID', `API token file ${path} ${problem.replace('pseudonyms are only as safe as this file', 'it holds plain tokens')}`);
  }
  return store;
}
