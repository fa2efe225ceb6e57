import { checkScriptReply } from '../errors.js';
import { createStateKeys } from '../keys.js';
import { parseSession, type Session } from '../session-model.js';
import { replyArray, replyFlatStrings, replyNumber, replyString } from '../reply.js';
import { defineStateCommands, type StateRedis } from '../script-loader.js';
import { closeArgs, openArgs, requireInteger } from './arguments.js';
import type { SessionChangeResult, SessionReplayGuard, SessionStore, SessionStoreOptions } from './contracts.js';
import { execPipeline, parseCloseReply, parseOpenReply, parseSessionList } from './replies.js';

const DEFAULT_GRACE_MS = 3_600_000;
const DEFAULT_AUDIT_MAX_LEN = 100_000;
const DEFAULT_SWEEP_LIMIT = 500;
/**
 * Session changes per session-apply call: one call saves the per-script cost of each change, and
 * the cap keeps a call short (a script blocks Redis while it runs; ~100 changes take well under 1 ms).
 */
const CHANGES_PER_CALL = 100;

export function createSessionStore(redis: StateRedis, options: SessionStoreOptions = {}): SessionStore {
  defineStateCommands(redis);
  const keys = createStateKeys(options);
  const graceMs = options.safetyGraceMs ?? DEFAULT_GRACE_MS;
  const auditMaxLen = options.auditMaxLen ?? DEFAULT_AUDIT_MAX_LEN;
  const auditRefresh = options.auditRefresh === true ? '1' : '0';
  requireInteger('safetyGraceMs', graceMs, 0);
  requireInteger('auditMaxLen', auditMaxLen, 1);

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
