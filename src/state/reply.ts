/** Narrowing helpers for script replies (`unknown` from ioredis), so no `any` leaks out. */

export function replyArray(script: string, reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`${script}: expected an array reply, got ${typeof reply}`);
  return reply;
}

export function replyString(script: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw new Error(`${script}: expected a string in the reply, got ${typeof value}`);
}

export function replyNumber(script: string, value: unknown): number {
  const n = typeof value === 'number' ? value : Number(replyString(script, value));
  if (!Number.isFinite(n)) throw new Error(`${script}: expected a number in the reply, got ${String(value)}`);
  return n;
}

/** A flat field/value list (HGETALL-style reply) as strings. */
export function replyFlatStrings(script: string, value: unknown): string[] {
  return replyArray(script, value).map((item) => replyString(script, item));
}
