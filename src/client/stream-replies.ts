/**
 * Narrowing of raw stream replies (`XREAD`, `XREADGROUP`, `XAUTOCLAIM`, `XPENDING`) from `unknown`.
 * The client sends these through `redis.call`, whose result is untyped; nothing here trusts a shape
 * it has not checked.
 */

/** One stream entry as Redis returns it: its id and its flat `[name, value, name, value, …]` list. */
export interface RawStreamEntry {
  readonly id: string;
  /** `null` when the entry is still in the pending list but was trimmed from the stream. */
  readonly fields: string[] | null;
}

/** One row of the extended `XPENDING` form. */
export interface PendingRow {
  readonly id: string;
  readonly consumer: string;
  readonly idleMs: number;
  readonly deliveries: number;
}

function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

function asStringList(value: unknown): string[] | null {
  if (!Array.isArray(value)) return null;
  const out: string[] = [];
  for (const item of value) {
    const text = asString(item);
    if (text === undefined) return null;
    out.push(text);
  }
  return out;
}

/** `[[id, [f, v, …]], …]` → entries; malformed items are skipped. */
export function parseEntryList(value: unknown): RawStreamEntry[] {
  if (!Array.isArray(value)) return [];
  const out: RawStreamEntry[] = [];
  for (const item of value) {
    if (!Array.isArray(item)) continue;
    const id = asString(item[0]);
    if (id === undefined) continue;
    out.push({ id, fields: asStringList(item[1]) });
  }
  return out;
}

/** `XREAD`/`XREADGROUP` reply for one stream: `[[stream, entries]]`, or `null` on timeout. */
export function parseReadReply(value: unknown): RawStreamEntry[] {
  if (!Array.isArray(value)) return [];
  const first: unknown = value[0];
  if (!Array.isArray(first)) return [];
  return parseEntryList(first[1]);
}

/** `XAUTOCLAIM` reply: `[nextCursor, entries, deletedIds]` (Redis ≥ 7 adds the third element). */
export function parseAutoClaimReply(value: unknown): { cursor: string; entries: RawStreamEntry[]; deletedIds: string[] } {
  if (!Array.isArray(value)) return { cursor: '0-0', entries: [], deletedIds: [] };
  return {
    cursor: asString(value[0]) ?? '0-0',
    entries: parseEntryList(value[1]),
    deletedIds: asStringList(value[2]) ?? [],
  };
}

/** Extended `XPENDING key group [IDLE ms] start end count [consumer]` reply. */
export function parsePendingRows(value: unknown): PendingRow[] {
  if (!Array.isArray(value)) return [];
  const out: PendingRow[] = [];
  for (const item of value) {
    if (!Array.isArray(item)) continue;
    const id = asString(item[0]);
    const consumer = asString(item[1]);
    if (id === undefined || consumer === undefined) continue;
    out.push({ id, consumer, idleMs: Number(item[2]), deliveries: Number(item[3]) });
  }
  return out;
}

/** Flat `[name, value, …]` → object. A repeated name keeps its last value. */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    out[fields[i] as string] = fields[i + 1] as string;
  }
  return out;
}
