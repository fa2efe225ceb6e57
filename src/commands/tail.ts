import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { createBlockingConnection } from '../client/blocking-connection.js';
import { createStreamConsumer } from '../client/consumer.js';
import { fieldsToRecord, parseReadReply, type RawStreamEntry } from '../client/stream-replies.js';
import { escapeControlChars } from '../sinks/escape.js';

export interface TailOptions {
  readonly redisUrl: string;
  /** Extra client options, e.g. `tls` for a rediss:// URL (`redisTlsOptions`). */
  readonly redisOptions?: RedisOptions | undefined;
  /** Full key of the stream, prefix included (e.g. `fortistream:events:soc`); nothing is added to it. */
  readonly stream: string;
  /** Read through this consumer group (created at the stream's end, or its start with `fromStart`) and ack what is printed. */
  readonly group?: string;
  /** Consumer name within the group; default `tail-<host>-<pid>`. */
  readonly consumer?: string;
  /** One JSON object per line, `{"id":…,"fields":{…}}`; otherwise `id  name=value …`. */
  readonly json: boolean;
  /** Exit after printing this many entries. */
  readonly count?: number;
  /** Start from the first entry instead of only new ones. */
  readonly fromStart?: boolean;
  /** Receives each line (without a trailing newline). */
  readonly print: (line: string) => void;
  /** Ends the tail (e.g. on SIGINT); the promise then resolves normally. */
  readonly signal?: AbortSignal;
  /** Longest a single read blocks; default 5000. */
  readonly blockMs?: number;
}

/**
 * JSON.stringify escapes C0 controls but leaves DEL, the C1 controls (U+0080–U+009F, which some
 * terminals read as escape sequences) and U+2028/U+2029 raw; escape those too (still valid JSON).
 */
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;

function jsonLine(id: string, fields: readonly string[]): string {
  const text = JSON.stringify({ id, fields: fieldsToRecord(fields) });
  return text.replace(JSON_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function textLine(id: string, fields: readonly string[]): string {
  let line = escapeControlChars(id);
  for (let i = 0; i + 1 < fields.length; i += 2) {
    line += ` ${i === 0 ? ' ' : ''}${escapeControlChars(fields[i] as string)}=${escapeControlChars(fields[i + 1] as string)}`;
  }
  return line;
}

/** One entry as `tail` prints it; every byte that reaches the terminal is escaped. */
export function formatTailLine(id: string, fields: readonly string[], json: boolean): string {
  return json ? jsonLine(id, fields) : textLine(id, fields);
}

async function tailPlain(redis: Redis, options: TailOptions, limit: number): Promise<number> {
  const blockMs = Math.max(1, options.blockMs ?? 5000);
  const reader = createBlockingConnection(redis, () => undefined);
  let lastId = options.fromStart ? '0' : '$';
  let printed = 0;
  const abort = (): void => void reader.interrupt();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    while (printed < limit && !options.signal?.aborted) {
      let entries: RawStreamEntry[];
      try {
        const reply = await reader.read('XREAD', 'COUNT', Math.min(100, limit - printed), 'BLOCK', blockMs, 'STREAMS', options.stream, lastId);
        entries = parseReadReply(reply);
      } catch (error) {
        if (options.signal?.aborted) break;
        throw error;
      }
      for (const entry of entries) {
        lastId = entry.id;
        if (entry.fields === null || printed >= limit || options.signal?.aborted) continue;
        options.print(formatTailLine(entry.id, entry.fields, options.json));
        printed += 1;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await reader.close();
  }
  return printed;
}

async function tailGroup(redis: Redis, group: string, options: TailOptions, limit: number): Promise<number> {
  let printed = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const consumer = createStreamConsumer({
    redis,
    stream: options.stream,
    group,
    consumer: options.consumer ?? `tail-${hostname()}-${process.pid}`,
    startId: options.fromStart ? '0' : '$',
    batchSize: Math.min(100, limit),
    ...(options.blockMs === undefined ? {} : { blockMs: options.blockMs }),
    decode: (fields: string[]) => fields,
    handler: (entry) => {
      if (printed >= limit) {
        // Unreachable (stop() was called at the limit); never ack an entry nobody saw.
        throw new Error('tail: --count reached');
      }
      options.print(formatTailLine(entry.id, entry.fields, options.json));
      printed += 1;
      if (printed >= limit) {
        // Not awaited: stop() waits for this handler. The loop acks this entry and hands over no other.
        void consumer.stop();
        finish();
      }
    },
  });
  const onAbort = (): void => finish();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) return 0;
    await consumer.start();
    await finished;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.stop();
  }
  return printed;
}

/**
 * `fortistream tail STREAM [--group G] [--consumer C] [--json] [--count N] [--from-start]`.
 *
 * Without a group: `XREAD BLOCK` from the end of the stream (`$`), or from its start, acking nothing.
 * With a group: reads through the consumer kit (`createStreamConsumer`) and acks each entry once it
 * is printed, so several `tail --group` share the work. Control characters and escape sequences
 * from the log never reach the terminal raw. Resolves with the number of entries printed.
 */
export async function tailCommand(options: TailOptions): Promise<number> {
  const limit = options.count ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return 0;
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3, ...options.redisOptions });
  redis.on('error', () => undefined); // ioredis retries; a final failure surfaces from the command itself
  try {
    return options.group === undefined
      ? await tailPlain(redis, options, limit)
      : await tailGroup(redis, options.group, options, limit);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
