/**
 * One writer per stream, enforced across processes. Entry ids come from frame sequences
 * (sequence.ts): a second worker writing the same stream would have its entries refused as
 * "already there" whenever its ids fall below the other's, and they would be counted as duplicates,
 * i.e. lost. So every stream a worker writes has a lease `<stream>:writer` (a string key with this
 * worker's token and a TTL), taken at start and renewed every third of the TTL.
 *
 * At start a lease held by another token is waited for while it runs out (a worker that crashed
 * elsewhere: at most one TTL), taken over at once when its holder is provably gone (same host,
 * process not running, or this very pid: a restarted container), and refused with a clear error
 * when its holder renews it (a live worker). While running, a lease found taken by another worker
 * (after a Redis restart without persistence, say) is logged as an error and counted
 * (`fortistream_writer_lease_conflicts_total`); released on shutdown.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis, Result } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { errorMessage, FortistreamError } from '../errors.js';

const COMMAND = 'fortistreamWriterLease';
const LUA = readFileSync(new URL('./lua/writer-lease-1.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fortistreamWriterLease(lease: string, mode: string, token: string, ttlMs: number, expected?: string): Result<unknown, Context>;
  }
}

/** The lease key of a stream. */
export function writerLeaseKey(stream: string): string {
  return `${stream}:writer`;
}

/** Another live worker writes one of this worker's streams. */
export class WriterLeaseConflictError extends FortistreamError {
  constructor(
    readonly stream: string,
    readonly holder: string,
  ) {
    super(
      'FST_WRITER_CONFLICT',
      `stream ${stream} is written by another worker (${holder}). Two writers of one stream lose entries ` +
        '(their explicit ids collide): give this worker its own redis.key_prefix or sink/profile stream, or stop the other one. ' +
        `The lease (${writerLeaseKey(stream)}) runs out when its holder stops renewing it.`,
    );
  }
}

export interface WriterLeaseOptions {
  readonly redis: Redis;
  readonly logger: Logger;
  readonly ttlMs: number;
  readonly registry?: Registry;
  /** This process's token (tests); default host, pid, start time and a random id. */
  readonly token?: string;
}

export interface WriterLeases {
  /** This worker's token as stored in its leases. */
  readonly token: string;
  /**
   * Takes the leases of `streams` (waiting out a crashed holder's); throws WriterLeaseConflictError
   * when a live worker holds one. With Redis unreachable it logs and returns: renewals take them later.
   */
  acquire(streams: readonly string[]): Promise<void>;
  /** Renews the leases of `streams()` (read each time: reloads change them) every third of the TTL. */
  keep(streams: () => readonly string[]): void;
  /** Stops renewing and releases every lease still held. */
  release(): Promise<void>;
}

interface Holder {
  readonly host: string;
  readonly pid: number;
}

/** `host <h> pid <n> since <iso> id <hex>` */
function parseToken(token: string): Holder | undefined {
  const match = /^host (\S+) pid (\d+) since \S+ id \S+$/.exec(token);
  return match ? { host: match[1] as string, pid: Number(match[2]) } : undefined;
}

function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder that cannot be running any more: this host, and its pid is gone or is this process's own. */
function provablyGone(holder: string): boolean {
  const parsed = parseToken(holder);
  if (parsed === undefined || parsed.host !== hostname()) return false;
  return parsed.pid === process.pid || !processRunning(parsed.pid);
}

type LeaseReply = { held: true } | { held: false; holder: string; pttlMs: number };

function parseReply(reply: unknown): LeaseReply {
  if (!Array.isArray(reply) || (reply[0] !== 1 && reply[0] !== 0)) throw new Error(`writer-lease: unexpected reply ${JSON.stringify(reply)}`);
  if (reply[0] === 1) return { held: true };
  return { held: false, holder: String(reply[1]), pttlMs: Number(reply[2]) };
}

const registered = new WeakMap<Registry, Counter<'stream'>>();

function conflictCounter(registry: Registry | undefined): Counter<'stream'> | undefined {
  if (registry === undefined) return undefined;
  let counter = registered.get(registry);
  if (counter === undefined) {
    counter = new Counter({
      name: 'fortistream_writer_lease_conflicts_total',
      help: 'Renewals that found a stream\'s writer lease held by another worker (two writers: entries may be lost).',
      labelNames: ['stream'],
      registers: [registry],
    });
    registered.set(registry, counter);
  }
  return counter;
}

export function createWriterLeases(options: WriterLeaseOptions): WriterLeases {
  const { redis, logger, ttlMs } = options;
  redis.defineCommand(COMMAND, { lua: LUA, numberOfKeys: 1 });
  const token = options.token ?? `host ${hostname()} pid ${process.pid} since ${new Date().toISOString()} id ${randomBytes(4).toString('hex')}`;
  const conflicts = conflictCounter(options.registry);
  const held = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let renewing: Promise<void> = Promise.resolve();

  const call = async (stream: string, mode: 'take' | 'steal', expected = ''): Promise<LeaseReply> =>
    parseReply(await redis.fortistreamWriterLease(writerLeaseKey(stream), mode, token, ttlMs, expected));

  /** Takes one lease: waits while a silent holder's lease runs out, fails when its holder renews it. */
  const acquireOne = async (stream: string): Promise<void> => {
    let lastPttl = Number.POSITIVE_INFINITY;
    const deadline = Date.now() + 2 * ttlMs + 1000;
    for (;;) {
      const reply = await call(stream, 'take');
      if (reply.held) {
        held.add(stream);
        return;
      }
      if (provablyGone(reply.holder)) {
        logger.warn({ stream, holder: reply.holder }, 'taking over the writer lease of a worker that is no longer running');
        if ((await call(stream, 'steal', reply.holder)).held) {
          held.add(stream);
          return;
        }
        continue;
      }
      // A renewal (the TTL went up) means the holder is alive.
      if (reply.pttlMs > lastPttl || Date.now() > deadline) throw new WriterLeaseConflictError(stream, reply.holder);
      if (lastPttl === Number.POSITIVE_INFINITY) {
        logger.warn({ stream, holder: reply.holder, ms: reply.pttlMs }, 'another worker held this stream; waiting for its lease to run out');
      }
      lastPttl = reply.pttlMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(50, Math.min(reply.pttlMs + 10, ttlMs / 6))));
    }
  };

  const renew = async (streams: readonly string[]): Promise<void> => {
    for (const stream of streams) {
      try {
        const reply = await call(stream, 'take');
        if (reply.held) {
          held.add(stream);
        } else {
          held.delete(stream);
          conflicts?.inc({ stream });
          logger.error(
            { stream, holder: reply.holder },
            'another worker now holds the writer lease of a stream this worker writes: two writers lose entries; stop one of them',
          );
        }
      } catch (error) {
        logger.warn({ stream, err: errorMessage(error) }, 'cannot renew the writer lease; retrying');
      }
    }
  };

  return {
    token,
    async acquire(streams) {
      for (const stream of new Set(streams)) {
        try {
          await acquireOne(stream);
        } catch (error) {
          if (error instanceof WriterLeaseConflictError) throw error;
          logger.warn({ stream, err: errorMessage(error) }, 'cannot take the writer lease now (Redis unreachable?); the renewals will');
        }
      }
    },
    keep(streams) {
      if (timer !== undefined) clearInterval(timer);
      timer = setInterval(() => {
        renewing = renewing.then(() => renew([...new Set(streams())]));
      }, Math.max(100, Math.floor(ttlMs / 3)));
      timer.unref();
    },
    async release() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await renewing;
      const streams = [...held];
      held.clear();
      await Promise.all(
        streams.map((stream) =>
          redis.fortistreamWriterLease(writerLeaseKey(stream), 'release', token, ttlMs).catch((error: unknown) => {
            logger.warn({ stream, err: errorMessage(error) }, 'cannot release the writer lease; it runs out by itself');
          }),
        ),
      );
    },
  };
}
