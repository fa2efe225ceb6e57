import type { ChainableCommander } from 'ioredis';
import { checkScriptReply } from './errors.js';
import { createStateKeys, type StateKeyOptions, type StateKeys } from './keys.js';
import {
  deriveSessionId,
  parseSession,
  SESSION_ID_PATTERN,
  SESSION_METHODS,
  type Session,
  type SessionMethod,
  type SessionOpenInput,
} from './session-model.js';
import { replyArray, replyFlatStrings, replyNumber, replyString } from './reply.js';
import { defineStateCommands, type StateRedis } from './script-loader.js';

export interface SessionStoreOptions extends StateKeyOptions {
  /** Redis TTL margin beyond expires_ms, a safety net for when no sweep runs; default 1 h. */
  readonly safetyGraceMs?: number;
  /** Approximate cap of the audit stream (`MAXLEN ~`); default 100,000. */
  readonly auditMaxLen?: number;
  /** Also audit `session.refreshed` when activity moves an expiry; default false (chatty). */
  readonly auditRefresh?: boolean;
}

/** `replayed`: the change was applied before (its sequence is at or below the writer's, see applyOps). */
export type SessionOpenStatus = 'opened' | 'replaced' | 'duplicate' | 'stale' | 'expired' | 'replayed';

export interface SessionOpenResult {
  readonly status: SessionOpenStatus;
  readonly id: string;
  readonly expiresMs: number;
  /** Sessions closed because this one supersedes them ('replaced'), or the newer one ('stale'). */
  readonly replacedIds: readonly string[];
}

/** Activity seen from an address (traffic log, identity on a traffic log, IdP heartbeat). */
export interface SessionActivity {
  readonly ip: string;
  /** Only sessions of this device; any device when omitted. */
  readonly device?: string;
  /** Only sessions of this user (ASCII-case-insensitive); any user when omitted. */
  readonly user?: string;
  readonly timeMs: number;
}

export interface SessionRefreshResult {
  readonly id: string;
  readonly expiresMs: number;
}

export type SessionCloseSelector =
  | { readonly by: 'id'; readonly id: string }
  | { readonly by: 'ip'; readonly ip: string; readonly method?: SessionMethod; readonly device?: string }
  | { readonly by: 'external'; readonly device: string; readonly method: SessionMethod; readonly externalId: string };

/** One change for `applyOps`. */
export type SessionChange =
  | { readonly kind: 'open'; readonly input: SessionOpenInput }
  | { readonly kind: 'close'; readonly selector: SessionCloseSelector; readonly eventTimeMs: number; readonly reason: string };

export type SessionChangeResult =
  | { readonly kind: 'open'; readonly result: SessionOpenResult }
  | { readonly kind: 'close'; readonly closed: Session[] };

export type SessionRevokeSelector = { readonly by: 'user'; readonly user: string } | { readonly by: 'ip'; readonly ip: string };

export interface SessionSweepResult {
  readonly expired: readonly Session[];
  /** Ids whose hash the safety TTL had already removed (no sweep ran for the grace period). */
  readonly lostIds: readonly string[];
  /** True when the limit was reached: call again. */
  readonly more: boolean;
}

/**
 * Makes `applyOps` idempotent: `seqs[i]` is op i's event's frame sequence (runtime/sequence.ts,
 * non-decreasing), and `P{A}:applied` keeps the last one `writer` applied; an op at or below it
 * was applied already (a retry after a lost reply, a spool replay) and is skipped, audit included.
 */
export interface SessionReplayGuard {
  readonly writer: string;
  readonly seqs: readonly number[];
}

export interface SessionStore {
  /** The key layout this store uses (see keys.ts). */
  readonly layout: StateKeys;
  open(input: SessionOpenInput, nowMs: number): Promise<SessionOpenResult>;
  /** Opens several sessions in one pipeline, in order (all identity keys share one slot). */
  openMany(inputs: readonly SessionOpenInput[], nowMs: number): Promise<SessionOpenResult[]>;
  /**
   * Records activity, combining the batch first: one script call per (ip, device, user) with the
   * latest time, only for addresses that have a session (one HMGET finds them), all in one
   * pipeline. Returns the sessions whose last_seen or expiry moved.
   */
  refresh(activity: readonly SessionActivity[], nowMs: number): Promise<SessionRefreshResult[]>;
  /** Closes the matching sessions created at or before `eventTimeMs`; returns them. */
  close(selector: SessionCloseSelector, eventTimeMs: number, reason: string): Promise<Session[]>;
  /**
   * Opens and closes in the given order, all in one pipeline (one round trip): a batch's logins and
   * logouts keep their order because Redis runs the scripts in the order they were sent.
   */
  applyOps(ops: readonly SessionChange[], nowMs: number, replay?: SessionReplayGuard): Promise<SessionChangeResult[]>;
  revoke(selector: SessionRevokeSelector, nowMs: number, reason: string, actor: string): Promise<Session[]>;
  /** Expires up to `limit` due sessions (expires_ms ≤ nowMs), auditing each. */
  sweep(nowMs: number, limit?: number): Promise<SessionSweepResult>;
}

const DEFAULT_GRACE_MS = 3_600_000;
const DEFAULT_AUDIT_MAX_LEN = 100_000;
const DEFAULT_SWEEP_LIMIT = 500;
/**
 * Session changes per session-apply call: one call saves the per-script cost of each change, and
 * the cap keeps a call short (a script blocks Redis while it runs; ~100 changes take well under 1 ms).
 */
const CHANGES_PER_CALL = 100;

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}

function validateOpen(input: SessionOpenInput): void {
  if (!SESSION_METHODS.includes(input.method)) throw new RangeError(`unknown session method ${String(input.method)}`);
  if (input.timeoutType !== 'idle' && input.timeoutType !== 'hard') {
    throw new RangeError(`timeoutType must be idle or hard, got ${String(input.timeoutType)}`);
  }
  requireInteger('timeoutSeconds', input.timeoutSeconds, 1);
  requireInteger('eventTimeMs', input.eventTimeMs, 0);
  if (input.id !== undefined && !SESSION_ID_PATTERN.test(input.id)) throw new RangeError(`bad session id ${input.id}`);
}

function parseOpenReply(reply: unknown): SessionOpenResult {
  const script = 'session-open';
  const items = replyArray(script, checkScriptReply(script, reply));
  const status = replyString(script, items[0]);
  if (status !== 'opened' && status !== 'replaced' && status !== 'duplicate' && status !== 'stale' && status !== 'expired' && status !== 'replayed') {
    throw new Error(`${script}: unknown status ${status}`);
  }
  return {
    status,
    id: replyString(script, items[1]),
    expiresMs: replyNumber(script, items[2]),
    replacedIds: items.slice(3).map((item) => replyString(script, item)),
  };
}

function parseSessionList(script: string, items: readonly unknown[]): Session[] {
  const sessions: Session[] = [];
  for (const item of items) {
    const session = parseSession(replyFlatStrings(script, item));
    if (session) sessions.push(session);
  }
  return sessions;
}

/** Runs a pipeline and returns each command's reply, throwing the first error. */
async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new Error('pipeline was discarded');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

export function createSessionStore(redis: StateRedis, options: SessionStoreOptions = {}): SessionStore {
  defineStateCommands(redis);
  const keys = createStateKeys(options);
  const graceMs = options.safetyGraceMs ?? DEFAULT_GRACE_MS;
  const auditMaxLen = options.auditMaxLen ?? DEFAULT_AUDIT_MAX_LEN;
  const auditRefresh = options.auditRefresh === true ? '1' : '0';
  requireInteger('safetyGraceMs', graceMs, 0);
  requireInteger('auditMaxLen', auditMaxLen, 1);

  /** session-apply-2's values for one open: the kind, then session-open-2's ARGV[5…17]. */
  const openArgs = (input: SessionOpenInput): (string | number)[] => {
    validateOpen(input);
    return [
      'open',
      input.id ?? deriveSessionId(input),
      input.user,
      input.groups && input.groups.length > 0 ? JSON.stringify(input.groups) : '',
      input.ip,
      input.tunnelIp ?? '',
      input.device,
      input.vdom ?? '',
      input.method,
      input.eventTimeMs,
      input.timeoutType,
      input.timeoutSeconds,
      input.openedBy,
      input.externalId ?? '',
    ];
  };

  /** session-apply-2's values for one close: the kind, then session-close-2's ARGV[3…8]. */
  const closeArgs = (selector: SessionCloseSelector, eventTimeMs: number, reason: string): (string | number)[] => {
    requireInteger('eventTimeMs', eventTimeMs, 0);
    switch (selector.by) {
      case 'id':
        return ['close', 'id', selector.id, '', '', eventTimeMs, reason];
      case 'ip':
        return ['close', 'ip', selector.ip, selector.method ?? '', selector.device ?? '', eventTimeMs, reason];
      case 'external':
        return ['close', 'ext', selector.device, selector.method, selector.externalId, eventTimeMs, reason];
    }
  };

  /**
   * Sends changes (each the values `openArgs` / `closeArgs` build) through session-apply-2, in
   * order, CHANGES_PER_CALL per call and all calls in one pipeline; returns one reply per change.
   */
  const applyChanges = async (
    changes: readonly (readonly (string | number)[])[],
    nowMs: number,
    replay?: SessionReplayGuard,
  ): Promise<unknown[]> => {
    const pipeline = redis.pipeline();
    const writer = replay?.writer ?? '';
    const seqs = replay?.seqs;
    if (seqs !== undefined && seqs.length !== changes.length) throw new RangeError('one sequence per session change');
    let start = 0;
    while (start < changes.length) {
      let end = Math.min(start + CHANGES_PER_CALL, changes.length);
      // One event's changes share a sequence: never split them over two calls (see session-apply-2).
      while (seqs !== undefined && end < changes.length && seqs[end] === seqs[end - 1]) end += 1;
      const argv: (string | number)[] = [];
      for (let i = start; i < end; i += 1) {
        const change = changes[i] as readonly (string | number)[];
        argv.push(change[0] as string, seqs?.[i] ?? 0);
        for (let v = 1; v < change.length; v += 1) argv.push(change[v] as string | number);
      }
      pipeline.fortistreamSessionApply(keys.expiry, keys.auditStream, keys.sessionBase, nowMs, graceMs, auditMaxLen, writer, end - start, ...argv);
      start = end;
    }
    const replies: unknown[] = [];
    for (const reply of await execPipeline(pipeline)) replies.push(...replyArray('session-apply', checkScriptReply('session-apply', reply)));
    if (replies.length !== changes.length) throw new Error(`session-apply: ${replies.length} replies for ${changes.length} changes`);
    return replies;
  };

  const parseCloseReply = (reply: unknown): Session[] =>
    parseSessionList('session-close', replyArray('session-close', checkScriptReply('session-close', reply)));

  const store: SessionStore = {
    layout: keys,
    async open(input, nowMs) {
      const [result] = await store.openMany([input], nowMs);
      if (!result) throw new Error('session-open: no reply');
      return result;
    },

    async openMany(inputs, nowMs) {
      if (inputs.length === 0) return [];
      requireInteger('nowMs', nowMs, 0);
      const changes = inputs.map(openArgs);
      return (await applyChanges(changes, nowMs)).map(parseOpenReply);
    },

    async refresh(activity, nowMs) {
      requireInteger('nowMs', nowMs, 0);
      // Traffic logs repeat the same address many times per batch: keep the latest time only.
      const latest = new Map<string, { ip: string; device: string; user: string; timeMs: number }>();
      for (const item of activity) {
        if (!item.ip) continue;
        const device = item.device ?? '';
        const user = item.user ?? '';
        const key = `${item.ip}\u0000${device}\u0000${user}`;
        const seen = latest.get(key);
        if (!seen) latest.set(key, { ip: item.ip, device, user, timeMs: item.timeMs });
        else if (item.timeMs > seen.timeMs) seen.timeMs = item.timeMs;
      }
      if (latest.size === 0) return [];
      // Most traffic comes from addresses without a session: one HMGET finds the few that have
      // one, and only those cost a script call.
      const ips = [...new Set([...latest.values()].map((item) => item.ip))];
      const listed = await redis.hmget(keys.ipIndex, ...ips);
      const withSessions = new Set(ips.filter((_, index) => listed[index]));
      const due = [...latest.values()].filter((item) => withSessions.has(item.ip));
      if (due.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const item of due) {
        requireInteger('timeMs', item.timeMs, 0);
        pipeline.fortistreamSessionRefresh(
          keys.expiry,
          keys.auditStream,
          keys.sessionBase,
          nowMs,
          graceMs,
          auditMaxLen,
          auditRefresh,
          item.ip,
          item.device,
          item.user,
          item.timeMs,
        );
      }
      const refreshed = new Map<string, number>();
      for (const reply of await execPipeline(pipeline)) {
        const items = replyArray('session-refresh', checkScriptReply('session-refresh', reply));
        for (let i = 0; i + 1 < items.length; i += 2) {
          const id = replyString('session-refresh', items[i]);
          const expiresMs = replyNumber('session-refresh', items[i + 1]);
          refreshed.set(id, Math.max(expiresMs, refreshed.get(id) ?? 0));
        }
      }
      return [...refreshed].map(([id, expiresMs]) => ({ id, expiresMs }));
    },

    async close(selector, eventTimeMs, reason) {
      // One change: session-close-2 itself (its ARGV[3…8] are closeArgs without the kind).
      const argv = closeArgs(selector, eventTimeMs, reason).slice(1);
      const reply = await redis.fortistreamSessionClose(keys.expiry, keys.auditStream, keys.sessionBase, auditMaxLen, ...argv);
      return parseCloseReply(reply);
    },

    async applyOps(ops, nowMs, replay) {
      if (ops.length === 0) return [];
      requireInteger('nowMs', nowMs, 0);
      const changes = ops.map((op) => (op.kind === 'open' ? openArgs(op.input) : closeArgs(op.selector, op.eventTimeMs, op.reason)));
      const replies = await applyChanges(changes, nowMs, replay);
      return ops.map((op, index): SessionChangeResult =>
        op.kind === 'open'
          ? { kind: 'open', result: parseOpenReply(replies[index]) }
          : { kind: 'close', closed: parseCloseReply(replies[index]) },
      );
    },

    async revoke(selector, nowMs, reason, actor) {
      requireInteger('nowMs', nowMs, 0);
      const value = selector.by === 'user' ? selector.user : selector.ip;
      const reply = await redis.fortistreamSessionRevoke(
        keys.expiry,
        keys.auditStream,
        keys.sessionBase,
        auditMaxLen,
        selector.by,
        value,
        nowMs,
        reason,
        actor,
      );
      return parseSessionList('session-revoke', replyArray('session-revoke', checkScriptReply('session-revoke', reply)));
    },

    async sweep(nowMs, limit = DEFAULT_SWEEP_LIMIT) {
      requireInteger('nowMs', nowMs, 0);
      requireInteger('limit', limit, 1);
      const reply = await redis.fortistreamSessionSweep(keys.expiry, keys.auditStream, keys.sessionBase, auditMaxLen, nowMs, limit);
      const items = replyArray('session-sweep', checkScriptReply('session-sweep', reply));
      const expired: Session[] = [];
      const lostIds: string[] = [];
      for (const item of items.slice(1)) {
        const flat = replyFlatStrings('session-sweep', item);
        const session = parseSession(flat);
        if (session) expired.push(session);
        else if (flat[0] === 'id' && flat[1] !== undefined) lostIds.push(flat[1]);
      }
      return { expired, lostIds, more: replyNumber('session-sweep', items[0]) === 1 };
    },
  };
  return store;
}
