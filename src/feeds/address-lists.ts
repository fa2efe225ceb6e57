/**
 * Address lists in Redis: one sorted set per list (`keys.addressList(name)`), address → expires-at
 * ms (`+inf` = no expiry). Other parts write them (ban-ip success → `blocked`, revoke → `revoked`,
 * a counter alert on an address → `blocked`); feeds serve them.
 *
 * Every change also appends `list.added` / `list.removed` to the audit stream in the same MULTI
 * (the list keys share the audit stream's hash tag, see keys.ts), so the feed pusher sees each
 * change as soon as it is made, and the audit trail shows who put an address on a list.
 */

import { isIP } from 'node:net';
import type { StateRedis } from '../state/script-loader.js';
import type { StateKeys } from '../state/keys.js';

export const LIST_ADDED = 'list.added';
export const LIST_REMOVED = 'list.removed';

/** Audit stream cap used when the caller gives none (same default as the session scripts). */
const DEFAULT_AUDIT_MAX_LEN = 100_000;

export interface ListChangeOptions {
  /** Time of the change (epoch ms); default now. */
  readonly nowMs?: number;
  /** Why (`event.reason` of the audit entry), e.g. `ban-ip`, `counter failed_vpn_per_ip`. */
  readonly reason?: string;
  /** Who (`fortistream.actor`), e.g. `api:ops`, `cli`. */
  readonly actor?: string;
  /** `MAXLEN ~` of the audit stream; default 100,000. */
  readonly auditMaxLen?: number;
}

/** An address (IPv4/IPv6) or a subnet (`address/prefix`), as a FortiGate address list accepts. */
export function isListAddress(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return isIP(text) !== 0;
  const version = isIP(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  if (version === 0 || !/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (version === 4 ? 32 : 128);
}

function checkAddress(address: string): void {
  if (!isListAddress(address)) throw new RangeError(`not an IP address or subnet: ${JSON.stringify(address.slice(0, 80))}`);
}

function auditFields(action: string, name: string, address: string, options: ListChangeOptions, expires: string): string[] {
  return [
    'event.action',
    action,
    'event.reason',
    options.reason ?? '',
    'event.time_ms',
    String(options.nowMs ?? Date.now()),
    'list.name',
    name,
    'list.address',
    address,
    ...(expires !== '' ? ['list.expires_ms', expires] : []),
    ...(options.actor !== undefined ? ['fortistream.actor', options.actor] : []),
  ];
}

async function execAll(multi: ReturnType<StateRedis['multi']>): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error('address list change was discarded');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/**
 * Puts `address` on list `name` until `expiresMs` (epoch ms; `null` or `Infinity` = no expiry). An
 * address already listed keeps the later of both expiries (ZADD GT): a short ban never cuts a
 * longer one short; remove it first to shorten. Writes `list.added` to the audit stream.
 */
export async function addToList(
  redis: StateRedis,
  keys: StateKeys,
  name: string,
  address: string,
  expiresMs: number | null,
  options: ListChangeOptions = {},
): Promise<void> {
  checkAddress(address);
  const forever = expiresMs === null || expiresMs === Number.POSITIVE_INFINITY;
  if (!forever && !Number.isSafeInteger(expiresMs)) throw new RangeError(`expiresMs must be an integer, null or Infinity, got ${expiresMs}`);
  const score = forever ? '+inf' : String(expiresMs);
  const multi = redis.multi();
  multi.zadd(keys.addressList(name), 'GT', score, address);
  multi.xadd(keys.auditStream, 'MAXLEN', '~', options.auditMaxLen ?? DEFAULT_AUDIT_MAX_LEN, '*', ...auditFields(LIST_ADDED, name, address, options, forever ? 'never' : score));
  await execAll(multi);
}

/** Takes `address` off list `name`; returns whether it was listed. Writes `list.removed` to the audit stream. */
export async function removeFromList(redis: StateRedis, keys: StateKeys, name: string, address: string, options: ListChangeOptions = {}): Promise<boolean> {
  checkAddress(address);
  const multi = redis.multi();
  multi.zrem(keys.addressList(name), address);
  multi.xadd(keys.auditStream, 'MAXLEN', '~', options.auditMaxLen ?? DEFAULT_AUDIT_MAX_LEN, '*', ...auditFields(LIST_REMOVED, name, address, options, ''));
  const [removed] = await execAll(multi);
  return Number(removed) > 0;
}

/**
 * The addresses on list `name` that have not expired at `nowMs`; expired ones are trimmed from the
 * set on the way (lists are only ever trimmed by reads: nothing else needs to run).
 */
export async function readList(redis: StateRedis, keys: StateKeys, name: string, nowMs: number): Promise<string[]> {
  const key = keys.addressList(name);
  const results = await redis.pipeline().zremrangebyscore(key, '-inf', nowMs).zrangebyscore(key, `(${nowMs}`, '+inf').exec();
  if (!results) throw new Error('address list read was discarded');
  const [, [error, members] = [null, []]] = results;
  if (error) throw error;
  return Array.isArray(members) ? members.filter((m): m is string => typeof m === 'string') : [];
}

/** A sorted-set score as Redis prints it: `inf` / `-inf` for the infinities, which Number() does not read. */
function scoreValue(text: string): number {
  if (text === 'inf' || text === '+inf') return Number.POSITIVE_INFINITY;
  if (text === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** For each address, whether it is on list `name` and not expired at `nowMs` (one ZMSCORE). */
export async function listedAt(redis: StateRedis, keys: StateKeys, name: string, addresses: readonly string[], nowMs: number): Promise<boolean[]> {
  if (addresses.length === 0) return [];
  const scores = await redis.zmscore(keys.addressList(name), ...addresses);
  return scores.map((score) => score !== null && scoreValue(score) > nowMs);
}

/** The earliest expiry after `nowMs` on list `name` (epoch ms), or undefined when none expires. */
export async function nextListExpiry(redis: StateRedis, keys: StateKeys, name: string, nowMs: number): Promise<number | undefined> {
  const found = await redis.zrangebyscore(keys.addressList(name), `(${nowMs}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
  const score = scoreValue(found[1] ?? '');
  return found.length >= 2 && Number.isFinite(score) ? score : undefined;
}
