/**
 * Keyed pseudonyms for entities (users, addresses, networks, devices).
 *
 * `pseudonym = kid ":" base64url(HMAC-SHA-256(secret, kind "\0" normalized)[0..16])`, e.g.
 * `k2024a:3q2-7wYq0n1L5m3yB9cZ1g` (kid, a colon, 22 characters). Why:
 * - keyed (HMAC), so nobody without the secret can confirm a guess — an unkeyed hash of an IPv4
 *   address is reversed by trying all 2^32 addresses (ENISA 2019);
 * - domain-separated by entity kind, so the user `10.1.2.3` and the address 10.1.2.3 differ;
 * - normalized first, so `2001:DB8::1`, `2001:db8:0:0:0:0:0:1` and `::ffff:10.1.2.3`/`10.1.2.3`
 *   pseudonymize alike;
 * - truncated to 128 bits: collisions are negligible (birthday bound ~2^64 entities) and the output
 *   stays short in every stream entry;
 * - prefixed with the key id, so consumers see when the key rotated and an analyst can find an
 *   entity under every live key (`pseudonymizeAll`).
 *
 * Normalization per kind:
 * - `ip`: canonical address (RFC 5952 IPv6, IPv4-mapped → IPv4, zone dropped); non-addresses → none.
 * - `net`: the /24 (IPv4) or /64 (IPv6) network, from an address or a `prefix/len` of that length.
 * - `user`, `group`: NFKC, trimmed, lowercased. FortiGate matches user names case-insensitively for
 *   LDAP/AD (FSSO), RADIUS and most local setups, and FSSO reports `DOMAIN\User` in whatever case
 *   the client used, so `Alice` and `alice` are one entity. The domain part is kept as written.
 * - `device`: trimmed, uppercased (FortiGate serials are upper-case: `FGT60F…`).
 * - `mac`: 12 hex digits, lowercase, colon-separated.
 * - `host`: trimmed, lowercased, trailing dot removed.
 */

import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { canonicalizeIp, canonicalizeNetwork } from './ip.js';

export type PseudonymKind = 'user' | 'group' | 'ip' | 'net' | 'device' | 'mac' | 'host';

export const PSEUDONYM_KINDS: readonly PseudonymKind[] = ['user', 'group', 'ip', 'net', 'device', 'mac', 'host'];

/** Bytes of the HMAC kept (base64url: 22 characters). */
export const PSEUDONYM_DIGEST_BYTES = 16;

export interface KeyringKey {
  readonly secret: Buffer;
  /** After this instant (epoch ms) a non-current key is no longer live (end of the rotation overlap). */
  readonly notAfterMs?: number;
}

/** The keys of one profile: `current` signs new pseudonyms; the others are kept for look-ups. */
export interface Keyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, KeyringKey>;
}

export interface PseudonymUnderKey {
  readonly kid: string;
  readonly pseudonym: string;
  readonly current: boolean;
  readonly notAfterMs?: number;
}

/** Normalized form of `value` for `kind` (see the module comment), or undefined when it is not one. */
export function normalizeEntity(kind: PseudonymKind, value: string): string | undefined {
  switch (kind) {
    case 'ip':
      return canonicalizeIp(value)?.address;
    case 'net':
      return canonicalizeNetwork(value.trim());
    case 'user':
    case 'group': {
      const text = value.normalize('NFKC').trim().toLowerCase();
      return text === '' ? undefined : text;
    }
    case 'device': {
      const text = value.trim().toUpperCase();
      return text === '' ? undefined : text;
    }
    case 'mac': {
      const hex = value.replace(/[:.\-\s]/g, '').toLowerCase();
      if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
      return hex.replace(/(..)(?!$)/g, '$1:');
    }
    case 'host': {
      const text = value.trim().toLowerCase().replace(/\.$/, '');
      return text === '' ? undefined : text;
    }
  }
}

const keyObjects = new WeakMap<KeyringKey, KeyObject>();

function keyObjectOf(key: KeyringKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = createSecretKey(key.secret);
    keyObjects.set(key, object);
  }
  return object;
}

/** The digest part of a pseudonym for an already normalized value. */
export function pseudonymDigest(key: KeyringKey, kind: PseudonymKind, normalized: string): string {
  return createHmac('sha256', keyObjectOf(key))
    .update(`${kind}\0${normalized}`, 'utf8')
    .digest()
    .subarray(0, PSEUDONYM_DIGEST_BYTES)
    .toString('base64url');
}

function pseudonymUnder(keyring: Keyring, kid: string, kind: PseudonymKind, value: string): string | undefined {
  const key = keyring.keys.get(kid);
  if (!key) return undefined;
  const normalized = normalizeEntity(kind, value);
  if (normalized === undefined) return undefined;
  return `${kid}:${pseudonymDigest(key, kind, normalized)}`;
}

/** Pseudonym of `value` under the current key; undefined when the value is not a `kind` (e.g. a bad IP). */
export function pseudonymize(keyring: Keyring, kind: PseudonymKind, value: string): string | undefined {
  return pseudonymUnder(keyring, keyring.current, kind, value);
}

/** Key ids that are live at `nowMs`: the current key, and every other key not past its `notAfterMs`. */
export function liveKeyIds(keyring: Keyring, nowMs: number): string[] {
  const ids: string[] = [keyring.current];
  for (const [kid, key] of keyring.keys) {
    if (kid === keyring.current) continue;
    if (key.notAfterMs === undefined || nowMs <= key.notAfterMs) ids.push(kid);
  }
  return ids;
}

/**
 * Pseudonyms of `value` under every live key (current first): what an analyst searches for while a
 * rotation overlap is running. Empty when the value is not a `kind`.
 */
export function pseudonymizeAll(keyring: Keyring, kind: PseudonymKind, value: string, nowMs: number): PseudonymUnderKey[] {
  const out: PseudonymUnderKey[] = [];
  for (const kid of liveKeyIds(keyring, nowMs)) {
    const pseudonym = pseudonymUnder(keyring, kid, kind, value);
    if (pseudonym === undefined) continue;
    const notAfterMs = keyring.keys.get(kid)?.notAfterMs;
    out.push(notAfterMs === undefined ? { kid, pseudonym, current: kid === keyring.current } : { kid, pseudonym, current: kid === keyring.current, notAfterMs });
  }
  return out;
}

/** `pseudonymize` with a bounded (generational LRU) cache per keyring (hot entities skip normalization and HMAC). */
export interface Pseudonymizer {
  pseudonymize(keyring: Keyring, kind: PseudonymKind, value: string): string | undefined;
  /** Entries cached for `keyring`. */
  cachedEntries(keyring: Keyring): number;
}

const NOT_AN_ENTITY = '';

/**
 * Bounded cache with least-recently-used eviction by generations: entries live in `young`; when it
 * is full it becomes `old` (the previous `old` is dropped) and a hit in `old` is promoted. Every
 * entry used within the last `capacity / 2` insertions survives; nothing is deleted one by one,
 * which keeps a hit at two Map look-ups (a delete+set LRU on a V8 Map costs more than the HMAC).
 */
class GenerationalCache {
  private young = new Map<string, string>();
  private old = new Map<string, string>();
  constructor(private readonly generationSize: number) {}

  get(key: string): string | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: string, value: string): void {
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}

/**
 * Creates a caching pseudonymizer holding at most `cacheSize` entries per keyring. The cache is
 * keyed by the keyring object, so a reloaded keyring (a new object) starts a fresh cache and a
 * changed secret under an old kid can never serve stale pseudonyms; the old cache is
 * garbage-collected with its keyring.
 */
export function createPseudonymizer(options: { readonly cacheSize?: number } = {}): Pseudonymizer {
  const generationSize = Math.max(1, Math.floor((options.cacheSize ?? 100_000) / 2));
  const caches = new WeakMap<Keyring, GenerationalCache>();
  return {
    pseudonymize(keyring, kind, value) {
      let cache = caches.get(keyring);
      if (!cache) {
        cache = new GenerationalCache(generationSize);
        caches.set(keyring, cache);
      }
      const cacheKey = `${kind}\0${value}`;
      const hit = cache.get(cacheKey);
      if (hit !== undefined) return hit === NOT_AN_ENTITY ? undefined : hit;
      const pseudonym = pseudonymize(keyring, kind, value);
      cache.set(cacheKey, pseudonym ?? NOT_AN_ENTITY);
      return pseudonym;
    },
    cachedEntries(keyring) {
      return caches.get(keyring)?.size ?? 0;
    },
  };
}
