import { readFileSync } from 'node:fs';
import type { Cluster, Redis, RedisKey, RedisValue, Result } from 'ioredis';
import { parsePendingRows, parseEntryList } from './stream-replies.js';

/** A client the consumer kit works with: one Redis, or a Redis Cluster. */
export type ConsumerRedis = Redis | Cluster;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fortistreamDeadLetter(stream: RedisKey, deadLetterStream: RedisKey, ...argv: RedisValue[]): Result<unknown, Context>;
  }
}

const SCRIPT_FILE = 'dead-letter-2';
let scriptSource: string | undefined;
const clientsWithCommand = new WeakSet<object>();

function defineDeadLetterCommand(redis: ConsumerRedis): void {
  if (clientsWithCommand.has(redis)) return;
  scriptSource ??= readFileSync(new URL(`./lua/${SCRIPT_FILE}.lua`, import.meta.url), 'utf8');
  redis.defineCommand('fortistreamDeadLetter', { lua: scriptSource, numberOfKeys: 2 });
  clientsWithCommand.add(redis);
}

/** The part of a key Redis Cluster hashes: the first non-empty `{…}`, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/**
 * True when one Lua script may touch both keys: always on a single Redis; on a Cluster only when
 * both keys carry the same hash tag (equal tags ⇒ same slot; other pairs may share a slot by chance,
 * but that is not something to rely on).
 */
export function canMoveAtomically(redis: ConsumerRedis, stream: string, deadLetterStream: string): boolean {
  if (!redis.isCluster) return true;
  return hashTagOf(stream) === hashTagOf(deadLetterStream);
}

export interface DeadLetterRequest {
  readonly stream: string;
  readonly deadLetterStream: string;
  readonly group: string;
  readonly consumer: string;
  readonly id: string;
  readonly maxDeliveries: number;
  readonly deadLetterMaxLen: number;
  readonly error: string;
}

/** What happened to one entry: moved (with the dead-letter id), not ours any more, or under the limit. */
export type DeadLetterOutcome = { moved: true; deadLetterId: string } | { moved: false; reason: 'not-pending' | 'under-limit' };

/** Moves one claimed entry to the dead-letter stream and acks it, in one Lua call. */
export async function deadLetterAtomically(redis: ConsumerRedis, request: DeadLetterRequest): Promise<DeadLetterOutcome> {
  defineDeadLetterCommand(redis);
  const reply = await redis.fortistreamDeadLetter(
    request.stream,
    request.deadLetterStream,
    request.group,
    request.id,
    request.consumer,
    request.maxDeliveries,
    request.deadLetterMaxLen,
    request.error,
  );
  if (typeof reply === 'string') return { moved: true, deadLetterId: reply };
  return { moved: false, reason: reply === -1 ? 'under-limit' : 'not-pending' };
}

/**
 * The same move without Lua, for a dead-letter stream in another Cluster slot: check ownership and
 * count, read the entry, XADD to the dead-letter stream, then XACK. A crash between the two writes
 * leaves the entry pending, so it is dead-lettered again later: at-least-once into the dead-letter
 * stream (consumers of it dedupe by `original_id`).
 */
export async function deadLetterSeparately(redis: ConsumerRedis, request: DeadLetterRequest): Promise<DeadLetterOutcome> {
  const { stream, deadLetterStream, group, consumer, id } = request;
  const rows = parsePendingRows(await redis.call('XPENDING', stream, group, id, id, 1, consumer));
  const row = rows[0];
  if (row === undefined) return { moved: false, reason: 'not-pending' };
  const deliveries = row.deliveries - 1;
  if (deliveries < request.maxDeliveries) return { moved: false, reason: 'under-limit' };
  const entry = parseEntryList(await redis.call('XRANGE', stream, id, id))[0];
  const cap = request.deadLetterMaxLen > 0 ? ['MAXLEN', '~', String(request.deadLetterMaxLen)] : [];
  const deadLetterId = await redis.call(
    'XADD',
    deadLetterStream,
    ...cap,
    '*',
    ...(entry?.fields ?? []),
    'original_stream',
    stream,
    'original_id',
    id,
    'deliveries',
    String(deliveries),
    'consumer_group',
    group,
    'error',
    request.error,
  );
  await redis.call('XACK', stream, group, id);
  return { moved: true, deadLetterId: String(deadLetterId) };
}
