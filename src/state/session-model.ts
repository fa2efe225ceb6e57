import { createHash } from 'node:crypto';

/** How the user authenticated (which FortiGate feature, or the identity provider). */
export type SessionMethod = 'firewall' | 'fsso' | 'sslvpn' | 'admin' | 'ipsec' | 'idp';
export const SESSION_METHODS: readonly SessionMethod[] = ['firewall', 'fsso', 'sslvpn', 'admin', 'ipsec', 'idp'];

/** FortiGate `auth-timeout-type`: idle (activity extends) or hard (fixed from login). */
export type TimeoutType = 'idle' | 'hard';

/** One live identity session, as stored in Redis. */
export interface Session {
  readonly id: string;
  readonly user: string;
  readonly groups: readonly string[];
  /** Source (remote) IP; '' when unknown. */
  readonly ip: string;
  /** Assigned tunnel IP (SSL-VPN, IPsec mode-config); undefined when none. */
  readonly tunnelIp: string | undefined;
  /** Observer serial or name. */
  readonly device: string;
  readonly vdom: string | undefined;
  readonly method: SessionMethod;
  readonly createdMs: number;
  readonly lastSeenMs: number;
  readonly expiresMs: number;
  readonly timeoutType: TimeoutType;
  readonly timeoutSeconds: number;
  /** The event that opened the session (log id, event id). */
  readonly openedBy: string;
  /** Correlation id from the source: admin `sn`, IdP session id, SSL-VPN tunnel id. */
  readonly externalId: string | undefined;
}

/** What a source knows when a login happens. */
export interface SessionOpenInput {
  readonly user: string;
  readonly groups?: readonly string[];
  readonly ip: string;
  readonly tunnelIp?: string;
  readonly device: string;
  readonly vdom?: string;
  readonly method: SessionMethod;
  /** Time of the login event (epoch ms); becomes createdMs and lastSeenMs. */
  readonly eventTimeMs: number;
  readonly timeoutType: TimeoutType;
  /** ≥ 1; should equal the FortiGate's `auth-timeout` so both sides expire together. */
  readonly timeoutSeconds: number;
  readonly openedBy: string;
  readonly externalId?: string;
  /** Explicit id; by default derived from the opening event, so replays map to the same id. */
  readonly id?: string;
}

/**
 * The id of the session an event opens: a hash of what identifies the login and the event, so a
 * replayed event yields the same id (and the open script sees a duplicate). 96 bits, base64url.
 */
export function deriveSessionId(input: SessionOpenInput): string {
  const material = JSON.stringify([
    input.device,
    input.method,
    input.ip,
    input.tunnelIp ?? '',
    input.externalId ?? '',
    input.user,
    input.openedBy,
    input.eventTimeMs,
  ]);
  return createHash('sha256').update(material).digest('base64url').slice(0, 12);
}

/** Explicit session ids: the ip and user indices list ids separated by spaces. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Field names as stored in the session hash (long name → short name). A small hash is a listpack
 * that repeats every field name in every session; the long names alone would cost ~80 bytes of
 * the 1 KB budget. Scripts, replies and audit entries use the long names. Mirrors STORED in
 * lua/includes/session-common.lua.
 */
export const STORED_SESSION_FIELDS: Readonly<Record<string, string>> = {
  user: 'usr',
  groups: 'grp',
  ip: 'ip',
  tunnel_ip: 'tip',
  device: 'dev',
  vdom: 'vd',
  method: 'm',
  created_ms: 'c',
  last_seen_ms: 'ls',
  expires_ms: 'exp',
  timeout_type: 'tt',
  timeout_s: 'to',
  opened_by: 'by',
  external_id: 'xid',
};

const LONG_SESSION_FIELDS: ReadonlyMap<string, string> = new Map(
  Object.entries(STORED_SESSION_FIELDS).map(([long, short]) => [short, long]),
);

/** A session hash as read with HGETALL, with long field names and the id added (flat list). */
export function storedSessionToFlat(id: string, stored: Readonly<Record<string, string>>): string[] {
  const flat = ['id', id];
  for (const [name, value] of Object.entries(stored)) flat.push(LONG_SESSION_FIELDS.get(name) ?? name, value);
  return flat;
}

function isMethod(value: string): value is SessionMethod {
  return (SESSION_METHODS as readonly string[]).includes(value);
}

function parseGroups(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}

/** The session in a flat field/value list (HGETALL, script reply); undefined when incomplete. */
export function parseSession(flat: readonly string[]): Session | undefined {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
  const id = fields.get('id');
  const method = fields.get('method') ?? '';
  const createdMs = Number(fields.get('created_ms'));
  const lastSeenMs = Number(fields.get('last_seen_ms'));
  const expiresMs = Number(fields.get('expires_ms'));
  const timeoutSeconds = Number(fields.get('timeout_s'));
  const timeoutType = fields.get('timeout_type');
  if (
    !id ||
    !isMethod(method) ||
    (timeoutType !== 'idle' && timeoutType !== 'hard') ||
    !Number.isFinite(createdMs) ||
    !Number.isFinite(lastSeenMs) ||
    !Number.isFinite(expiresMs) ||
    !Number.isFinite(timeoutSeconds)
  ) {
    return undefined;
  }
  return {
    id,
    user: fields.get('user') ?? '',
    groups: parseGroups(fields.get('groups')),
    ip: fields.get('ip') ?? '',
    tunnelIp: fields.get('tunnel_ip'),
    device: fields.get('device') ?? '',
    vdom: fields.get('vdom'),
    method,
    createdMs,
    lastSeenMs,
    expiresMs,
    timeoutType,
    timeoutSeconds,
    openedBy: fields.get('opened_by') ?? '',
    externalId: fields.get('external_id'),
  };
}
