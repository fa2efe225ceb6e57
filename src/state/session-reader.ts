import { createStateKeys, type StateKeyOptions, type StateKeys } from './keys.js';
import { parseSession, storedSessionToFlat, type Session } from './session-model.js';
import type { StateRedis } from './script-loader.js';

export interface SessionReadOptions {
  /** When given, sessions with expiresMs ≤ nowMs (due, not yet swept) are left out. */
  readonly nowMs?: number;
}

/** Plain reads for services that ask "who is 10.1.2.3?": two round trips, no scripts. */
export interface SessionReader {
  /** The key layout this store uses (see keys.ts). */
  readonly layout: StateKeys;
  byIp(ip: string, options?: SessionReadOptions): Promise<Session[]>;
  byUser(user: string, options?: SessionReadOptions): Promise<Session[]>;
  byDevice(device: string, options?: SessionReadOptions): Promise<Session[]>;
  byId(id: string): Promise<Session | undefined>;
  /** Every live session, from the expiry index (soonest expiry first), read in pages. */
  list(options?: SessionReadOptions & { readonly limit?: number }): Promise<Session[]>;
}

const PAGE = 500;

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function createSessionReader(redis: StateRedis, options: StateKeyOptions = {}): SessionReader {
  const keys = createStateKeys(options);

  // HGETALL for each id in one pipeline (one slot, so this also works on a cluster). An id whose
  // hash is missing cannot come from the scripts; it is skipped, not reported as a session.
  const readSessions = async (ids: readonly string[], read: SessionReadOptions = {}): Promise<Session[]> => {
    if (ids.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hgetall(keys.session(id));
    const results = (await pipeline.exec()) ?? [];
    const sessions: Session[] = [];
    for (const [index, [error, value]] of results.entries()) {
      if (error) throw error;
      if (typeof value !== 'object' || value === null) continue;
      const stored: Record<string, string> = {};
      for (const [field, fieldValue] of Object.entries(value)) {
        if (typeof fieldValue === 'string') stored[field] = fieldValue;
      }
      const session = parseSession(storedSessionToFlat(ids[index] ?? '', stored));
      if (session && (read.nowMs === undefined || session.expiresMs > read.nowMs)) sessions.push(session);
    }
    return sessions;
  };

  // The ip and user indices list ids under one field: one HGET answers "who is 10.1.2.3?".
  const listed = async (indexKey: string, field: string, read?: SessionReadOptions): Promise<Session[]> => {
    const ids = await redis.hget(indexKey, field);
    return ids ? readSessions(ids.split(' '), read) : [];
  };

  return {
    layout: keys,
    byIp: (ip, read) => listed(keys.ipIndex, ip, read),
    byUser: (user, read) => listed(keys.userIndex, keys.userIndexField(user), read),
    byDevice: async (device, read) => readSessions(stringList(await redis.hkeys(keys.deviceIndex(device))), read),
    async byId(id) {
      const [session] = await readSessions([id]);
      return session;
    },
    async list(read = {}) {
      const limit = read.limit ?? Number.POSITIVE_INFINITY;
      const sessions: Session[] = [];
      for (let offset = 0; sessions.length < limit; offset += PAGE) {
        const ids = stringList(await redis.zrange(keys.expiry, offset, offset + PAGE - 1));
        sessions.push(...(await readSessions(ids, read)));
        if (ids.length < PAGE) break;
      }
      return sessions.slice(0, limit);
    },
  };
}
