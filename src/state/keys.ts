/**
 * The only module that builds Redis key strings for live state (sessions, counters).
 *
 * Layout (P = prefix, default `fortistream:`; A = the audit stream, default `P` + `audit`):
 *
 * | key                                  | type   | holds                                              |
 * |--------------------------------------|--------|----------------------------------------------------|
 * | `A`  (= `fortistream:audit`)         | stream | audit entries (session.opened/closed/expired/…)    |
 * | `P{A}:session:<id>`                  | hash   | one session (short field names: session-model.ts)  |
 * | `P{A}:ip`                            | hash   | IP (source or tunnel) → space-separated session ids|
 * | `P{A}:user`                          | hash   | ASCII-lowercased user → space-separated session ids|
 * | `P{A}:device:<device>`               | hash   | session id → '' (one FortiGate's sessions)         |
 * | `P{A}:ext:<device>`                  | hash   | `<method>|<external id>` → session id              |
 * | `P{A}:addr:<device>`                 | hash   | `<method>|<key address>` → session id (no ext id)  |
 * | `P{A}:expiry`                        | zset   | session id scored by expires_ms (the sweep's index)|
 * | `P{A}:list:<name>`                   | zset   | address list (feeds): address → expires-at ms      |
 * | `P` + `counter:{<name>|<key>}`       | hash   | sliding-window buckets of one counter key          |
 * | `P` + `counter:{<name>|<key>}:alert` | string | alert marker: last bucket of the alerted window    |
 * | `P{A}:applied`                       | hash   | writer → last frame sequence its session ops applied|
 *
 * Replays (runtime/sequence.ts): a counter's bucket hash also holds `seq:<writer>`, the last batch
 * sequence that writer applied to it, and `P{A}:applied` the last sequence of the session changes
 * each writer applied, so a batch sent again (lost reply, spool replay) is not applied twice. The
 * writer is the worker's sinks stream (one writer per stream).
 *
 * Why one hash tag for all identity keys: a session and its indices (by IP, by user, by device,
 * by external id, expiry) change together in one Lua script, and an IP index and a user index have
 * no natural tag in common, so every identity key must live in one slot. Identity state is small
 * (≤ 1 KB per live session, tens of thousands of sessions at most), so one slot — one node of a
 * cluster — holds it comfortably; counters, the high-volume state, spread across slots instead.
 *
 * Memory shapes the indices (budget: 1 KB per live session). A top-level key costs ~100 bytes
 * before its data, and Redis 7.0 stores even a one-member set of strings as a hashtable (~250 bytes),
 * so one key per IP and per user would take half the budget. Instead one hash maps every IP (and
 * one every user) to its few session ids (~70 bytes per entry); a device, which has many sessions,
 * gets its own hash of ids. Lookups stay O(1): HGET, then HGETALL per session.
 *
 * The addr index answers session-open's question "which session does this login supersede?" in
 * one HGET: a session without an external id is found by (device, method, key address), the key
 * address being the tunnel IP if any, else the source IP (~45 bytes per such session). Index
 * hashes that grow past 128 entries are converted to hashtable encoding by the scripts (a listpack
 * is scanned on every access: ~2.5 µs at 500 entries), see `lua/includes/session-common.lua`.
 *
 * Why the tag is the audit stream's own name: a key without braces hashes as a whole, so
 * `fortistream:audit` lives in the slot of CRC16("fortistream:audit"); a key that carries
 * `{fortistream:audit}` as its tag lands in the same slot. The scripts can then XADD the audit
 * entry in the same atomic call as the state change, and the stream keeps the name DESIGN.md
 * promises. Renaming the audit stream therefore moves the identity keys as well.
 *
 * Address lists (`blocked`, `revoked`, … served as FortiGate feeds, src/feeds) share the tag too:
 * a change and its `list.added` / `list.removed` audit entry go in one MULTI, which a cluster only
 * runs when every key is in one slot. Lists are small (an address costs ~30 bytes).
 *
 * Every identity key also gets a Redis TTL (expiry + grace, a safety net; the sweep is
 * authoritative). Counter keys get window + lateness + bucket, so idle keys disappear.
 *
 * Lua builds the per-session keys from `sessionBase` (see `lua/includes/session-common.lua`), which
 * mirrors the functions below; the integration tests check that both agree.
 */

/** Options every state module takes. */
export interface StateKeyOptions {
  /** Prefix of every key; default `fortistream:`. */
  readonly prefix?: string;
  /** The audit stream; default `<prefix>audit`. Also the hash tag of every identity key. */
  readonly auditStream?: string;
}

export const DEFAULT_PREFIX = 'fortistream:';

/** ASCII-only lower-casing, identical to Lua's `string.lower` in Redis, so both sides build the same key. */
export function normalizeUserForIndex(user: string): string {
  return user.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

export interface StateKeys {
  readonly prefix: string;
  readonly auditStream: string;
  /** Common start of every identity key: `P{A}:`; passed to the session scripts. */
  readonly sessionBase: string;
  session(id: string): string;
  /** Hash: IP → space-separated session ids. */
  readonly ipIndex: string;
  /** Hash: normalized user → space-separated session ids. */
  readonly userIndex: string;
  /** Field of `userIndex` for a user. */
  userIndexField(user: string): string;
  deviceIndex(device: string): string;
  externalIdIndex(device: string): string;
  /** Field of `externalIdIndex(device)`; method names never contain `|`, so the pair is unambiguous. */
  externalIdField(method: string, externalId: string): string;
  /** Hash: `<method>|<key address>` → id of the session without external id found there. */
  addressIndex(device: string): string;
  /** Field of `addressIndex(device)`: the key address is the tunnel IP if any, else the source IP. */
  addressIndexField(method: string, keyAddress: string): string;
  readonly expiry: string;
  /** Zset: address → expires-at ms (`+inf` = no expiry); one address list served by feeds. */
  addressList(name: string): string;
  counterBuckets(counter: string, key: string): string;
  counterAlert(counter: string, key: string): string;
  /** SCAN MATCH pattern for the bucket keys of one counter. */
  counterScanPattern(counter: string): string;
  /** Inverse of `counterBuckets` for keys returned by the scan pattern; undefined for other keys. */
  counterKeyFromBucketsKey(counter: string, redisKey: string): string | undefined;
}

/**
 * The field of a counter's bucket hash (and of `P{A}:applied`) holding a writer's last applied
 * sequence. Its third character on is never a number, so the scripts never take it for a bucket.
 */
export function appliedSeqField(writer: string): string {
  return `seq:${writer}`;
}

/** Escapes glob metacharacters for SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export function createStateKeys(options: StateKeyOptions = {}): StateKeys {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const auditStream = options.auditStream ?? `${prefix}audit`;
  if (auditStream.includes('{') || auditStream.includes('}')) {
    throw new Error(`audit stream name must not contain braces (it is used as the hash tag): ${auditStream}`);
  }
  const sessionBase = `${prefix}{${auditStream}}:`;
  const counterStart = (counter: string): string => `${prefix}counter:{${counter}|`;
  return {
    prefix,
    auditStream,
    sessionBase,
    session: (id) => `${sessionBase}session:${id}`,
    ipIndex: `${sessionBase}ip`,
    userIndex: `${sessionBase}user`,
    userIndexField: normalizeUserForIndex,
    deviceIndex: (device) => `${sessionBase}device:${device}`,
    externalIdIndex: (device) => `${sessionBase}ext:${device}`,
    externalIdField: (method, externalId) => `${method}|${externalId}`,
    addressIndex: (device) => `${sessionBase}addr:${device}`,
    addressIndexField: (method, keyAddress) => `${method}|${keyAddress}`,
    expiry: `${sessionBase}expiry`,
    addressList: (name) => `${sessionBase}list:${name}`,
    counterBuckets: (counter, key) => `${counterStart(counter)}${key}}`,
    counterAlert: (counter, key) => `${counterStart(counter)}${key}}:alert`,
    counterScanPattern: (counter) => `${escapeGlob(counterStart(counter))}*}`,
    counterKeyFromBucketsKey(counter, redisKey) {
      const start = counterStart(counter);
      if (!redisKey.startsWith(start) || !redisKey.endsWith('}')) return undefined;
      return redisKey.slice(start.length, -1);
    },
  };
}

/**
 * Keys of the enforcement jobs (src/actions), under the same prefix as everything else:
 *
 * | key                                      | type   | holds                                              |
 * |------------------------------------------|--------|----------------------------------------------------|
 * | `P{bull}:<queue>:…`                      | BullMQ | the job queue (BullMQ's own layout under its prefix)|
 * | `P` + `actions:rate:<device>`            | string | per-device call spacing: exists while the next call must wait (PX) |
 *
 * BullMQ builds its keys as `<bullmq prefix>:<queue>:<suffix>` and its scripts touch several of them
 * at once: the `{bull}` hash tag keeps a queue's keys in one slot, so BullMQ works on Redis Cluster,
 * and every key still starts with the prefix (one ACL key pattern covers the queue).
 */
export interface ActionKeys {
  /** BullMQ's `prefix` option: `P{bull}` (BullMQ adds `:<queue>:…`). */
  readonly bullmqPrefix: string;
  /** SET NX PX marker spacing the calls to one device. */
  deviceRate(device: string): string;
}

export function createActionKeys(prefix: string = DEFAULT_PREFIX): ActionKeys {
  return {
    bullmqPrefix: `${prefix}{bull}`,
    deviceRate: (device) => `${prefix}actions:rate:${device}`,
  };
}
