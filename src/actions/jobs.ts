import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import type { SessionMethod } from '../state/session-model.js';

/** `method` values of FortiOS `POST /api/v2/monitor/user/firewall/deauth` (firewall users). */
export type FortiosDeauthMethod = 'fsso' | 'rsso' | 'ntlm' | 'firewall' | 'wsso' | 'fsso_citrix' | 'sso_guest';
export const FORTIOS_DEAUTH_METHODS: readonly FortiosDeauthMethod[] = ['fsso', 'rsso', 'ntlm', 'firewall', 'wsso', 'fsso_citrix', 'sso_guest'];

/** What the queue carries. Other modules (revoke, thresholds, feeds) build these. */
export type ActionJob =
  | { type: 'ban-ip'; device: string; ip: string; expirySeconds: number; reason: string }
  | { type: 'unban-ip'; device: string; ip: string; reason: string }
  | { type: 'deauth-user'; device: string; ip: string; user?: string; method: FortiosDeauthMethod; reason: string }
  | { type: 'webhook'; webhook: string; payload: Record<string, unknown> }
  | { type: 'feed-push'; device: string; connector: string; command: 'add' | 'remove' | 'snapshot'; entries: string[] };

export type ActionJobType = ActionJob['type'];
export type DeviceActionJob = Exclude<ActionJob, { type: 'webhook' }>;
export const ACTION_JOB_TYPES: readonly ActionJobType[] = ['ban-ip', 'unban-ip', 'deauth-user', 'webhook', 'feed-push'];

/**
 * The FortiOS deauth method for a session method. FortiOS's deauth call only knows firewall
 * authentication users (its `method` list); sessions fortistream learned from SSL-VPN, IPsec, admin
 * logins or an identity provider have no such entry of their own, so they are deauthenticated as
 * `firewall` users by IP: whatever firewall-auth entry that address holds is cleared (identity
 * policies stop matching it). That does not tear down an SSL-VPN/IPsec tunnel or an admin's GUI
 * session (FortiOS needs a tunnel index or admin id for those); a `ban-ip` cuts their traffic.
 */
export function fortiosDeauthMethod(method: SessionMethod): FortiosDeauthMethod {
  switch (method) {
    case 'fsso':
      return 'fsso';
    case 'firewall':
    case 'sslvpn':
    case 'ipsec':
    case 'admin':
    case 'idp':
      return 'firewall';
  }
}

const ipAddress = z.string().refine((ip) => isIP(ip) !== 0, 'an IPv4 or IPv6 address');
const name = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'a device or webhook name from the pipeline');
const reason = z.string().max(1024);

const actionJobSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ban-ip'), device: name, ip: ipAddress, expirySeconds: z.int().min(0).max(2 ** 31 - 1), reason }),
  z.strictObject({ type: z.literal('unban-ip'), device: name, ip: ipAddress, reason }),
  z.strictObject({
    type: z.literal('deauth-user'),
    device: name,
    ip: ipAddress,
    user: z.string().min(1).max(512).optional(),
    method: z.enum(FORTIOS_DEAUTH_METHODS as [FortiosDeauthMethod, ...FortiosDeauthMethod[]]),
    reason,
  }),
  z.strictObject({ type: z.literal('webhook'), webhook: name, payload: z.record(z.string(), z.unknown()) }),
  z.strictObject({
    type: z.literal('feed-push'),
    device: name,
    connector: z.string().regex(/^[^\s"]{1,35}$/, 'an external-resource name (1–35 characters, no spaces or quotes)'),
    command: z.enum(['add', 'remove', 'snapshot']),
    entries: z.array(z.string().regex(/^[0-9A-Fa-f:.\-/]{2,100}$/, 'an address, range or subnet')).max(131_072),
  }),
]);

// The schema and the exported type must describe the same thing (both directions).
type SchemaJob = z.infer<typeof actionJobSchema>;
const sameShape: [SchemaJob extends ActionJob ? true : false, ActionJob extends SchemaJob ? true : false] = [true, true];
void sameShape;

export type ActionJobCheck = { readonly ok: true; readonly job: ActionJob } | { readonly ok: false; readonly problem: string };

/** Validates a job built by code or read back from the queue; `problem` names the field. */
export function checkActionJob(value: unknown): ActionJobCheck {
  const parsed = actionJobSchema.safeParse(value);
  if (parsed.success) return { ok: true, job: parsed.data };
  const problem = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(job)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, problem };
}

/** Where a job acts: its device, or `webhook:<name>`. */
export function actionScope(job: ActionJob): string {
  return job.type === 'webhook' ? `webhook:${job.webhook}` : job.device;
}

/** What a job acts on, for people (audit entries, `fortistream actions`). */
export function actionTarget(job: ActionJob): string {
  switch (job.type) {
    case 'ban-ip':
    case 'unban-ip':
      return job.ip.toLowerCase();
    case 'deauth-user':
      return job.user === undefined ? job.ip.toLowerCase() : `${job.ip.toLowerCase()} (${job.user})`;
    case 'webhook':
      return `payload ${digest(canonicalJson(job.payload)).slice(0, 12)}`;
    case 'feed-push':
      return `${job.connector} ${job.command} (${job.entries.length} entries)`;
  }
}

/** The identity of a job's effect: what two jobs must share to be the same job. */
function identity(job: ActionJob): unknown[] {
  switch (job.type) {
    case 'ban-ip':
    case 'unban-ip':
      return [job.ip.toLowerCase()];
    case 'deauth-user':
      return [job.ip.toLowerCase(), job.user ?? null, job.method];
    case 'webhook':
      return [canonicalJson(job.payload)];
    case 'feed-push':
      return [job.connector, job.command, [...job.entries].sort()];
  }
}

/**
 * The BullMQ job id: a readable part (type, device, address) and a hash of type + device/webhook +
 * target + idempotency key, so identical requests share one id and anything else differs. BullMQ
 * refuses ':' in custom ids (IPv6!) and all-digit ids: the readable part keeps only [A-Za-z0-9_.-].
 */
export function actionJobId(job: ActionJob, idempotencyKey?: string): string {
  const hash = digest(JSON.stringify([job.type, actionScope(job), identity(job), idempotencyKey ?? null])).slice(0, 24);
  const what = job.type === 'ban-ip' || job.type === 'unban-ip' || job.type === 'deauth-user' ? job.ip.toLowerCase() : job.type === 'feed-push' ? job.connector : '';
  const readable = `${job.type}.${actionScope(job)}${what ? `.${what}` : ''}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 96);
  return `${readable}.${hash}`;
}

export interface PlannedRequest {
  readonly method: 'POST';
  /** Path under the device's base URL (FortiOS monitor API). */
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** The FortiOS REST call that carries out a device job (see README "Enforcement"). */
export function fortiosRequestFor(job: DeviceActionJob): PlannedRequest {
  switch (job.type) {
    case 'ban-ip':
      return { method: 'POST', path: '/api/v2/monitor/user/banned/add_users', body: { ip_addresses: [job.ip], expiry: job.expirySeconds } };
    case 'unban-ip':
      return { method: 'POST', path: '/api/v2/monitor/user/banned/clear_users', body: { ip_addresses: [job.ip] } };
    case 'deauth-user':
      return {
        method: 'POST',
        path: '/api/v2/monitor/user/firewall/deauth',
        body: { user_type: 'firewall', id: 0, ip: job.ip, ip_version: isIP(job.ip) === 6 ? 'ip6' : 'ip4', method: job.method },
      };
    case 'feed-push':
      return {
        method: 'POST',
        path: '/api/v2/monitor/system/external-resource/dynamic',
        body: { commands: [{ name: job.connector, command: job.command, entries: job.entries }] },
      };
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted, so equal payloads hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
