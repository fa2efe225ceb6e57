import type { StateKeyOptions, StateKeys } from '../keys.js';
import type { Session, SessionMethod, SessionOpenInput } from '../session-model.js';

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
