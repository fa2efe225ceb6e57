/**
 * The `resp` strategy of the Redis Streams sink: its own connection, each trip of XADDs encoded into
 * one buffer. Split from redis-streams.ts (which keeps the settings and the sink; the other
 * strategies are in xadd-enqueue.ts).
 *
 * Explicit ids (`explicitIds`): a batch the pipeline made carries its frames' sequences
 * (runtime/sequence.ts) and every entry gets the id of its frame, whatever the attempt or the run:
 * a retry after a lost reply, or a spool replay after a restart, sends the same ids and Redis refuses
 * those it has ("equal or smaller than the target stream top item"), which is counted as a duplicate
 * skipped, not an error. That holds because this sink is the only writer of its streams (the config
 * refuses two writers) and because a batch is never written after a later one: writes go one at a
 * time, and while a batch is unconfirmed, later batches are refused (the pipeline retries them).
 * A batch made by hand (no sequences) gets ids from this sink's own counter, started above the
 * streams' last ids.
 */
import type { Redis } from 'ioredis';
import type { NormalizedEvent } from '../../parse/event.js';
import type { DeadLetter, SinkBatch } from '../../runtime/contracts.js';
import type { SinkEncoder } from '../../runtime/pipeline.js';
import { entryIdOf } from '../../runtime/sequence.js';
import { RespConnection, type ReplyError, type RespTlsOptions } from './connection.js';
import type { EncodedBatch, EntryIds, IdRange } from './encode.js';
import { RespXaddWriter } from './xadd-writer.js';

/** Redis's reply when an explicit id is not above the stream's last one (the entry is already there). */
export const ID_NOT_ABOVE_TOP = 'equal or smaller than the target stream top item';

export interface RespBatchWriterOptions {
  readonly url: string;
  readonly tls?: RespTlsOptions;
  readonly explicitIds: boolean;
  readonly trim: 'each' | 'last';
  readonly stream: { readonly key: string; readonly maxLen: number };
  readonly deadStream: { readonly key: string; readonly maxLen: number };
  readonly perTrip: number;
  readonly redis: Redis;
  /** One dead letter as stream field/value strings. */
  deadFields(letter: DeadLetter): readonly string[];
  /** The sink's error for a failed write (counted and logged by the sink). */
  failure(events: number, dead: number, cause: unknown): Error;
  /** Entries Redis refused as already there (explicit ids): counted, not an error. */
  duplicates(count: number): void;
  readonly latency: { observe(seconds: number): void } | undefined;
}

/**
 * A batch's events encoded as XADDs as they arrive (the pipeline then drops the event objects at once):
 * trips of at most `perTrip` entries, each in its own buffer, kept until Redis confirmed the whole
 * batch (a failed batch is sent again as is). With explicit ids each entry carries its frame's id.
 */
export class RespEventEncoder implements SinkEncoder {
  readonly trips: { readonly out: EncodedBatch; count: number }[] = [];
  count = 0;
  /** Set once the batch was written and its buffers went back to the writer. */
  released = false;
  private current: { readonly out: EncodedBatch; count: number } | undefined;

  constructor(
    readonly writer: RespXaddWriter,
    private readonly perTrip: number,
    private readonly explicitIds: boolean,
  ) {}

  add(event: NormalizedEvent, seq?: number): number {
    let trip = this.current;
    if (trip === undefined || trip.count === this.perTrip) {
      trip = { out: this.writer.tripBuffer(this.perTrip), count: 0 };
      this.trips.push(trip);
      this.current = trip;
    }
    const before = trip.out.length;
    if (this.explicitIds) {
      if (seq === undefined) throw new Error('explicit ids: the encoder needs each event\'s sequence');
      this.writer.appendEvent(trip.out, event.fields, entryIdOf(seq));
    } else {
      this.writer.appendEvent(trip.out, event.fields);
    }
    trip.count += 1;
    this.count += 1;
    return trip.out.length - before;
  }
}

export interface RespBatchWriter {
  write(batch: SinkBatch): Promise<number>;
  /** An encoder for the next batch, or undefined when entries cannot be encoded ahead (trim `last`). */
  encoder(): RespEventEncoder | undefined;
  owns(encoder: SinkEncoder): encoder is RespEventEncoder;
  writeEncoded(batch: SinkBatch, encoded: RespEventEncoder): Promise<number>;
  close(): Promise<void>;
}

/** Ids a hand-made batch got on its first attempt, reused by its retries. */
interface OwnIds {
  readonly events: IdRange;
  readonly dead: IdRange;
}

function shifted(range: EntryIds | undefined, by: number, count: number): EntryIds | undefined {
  if (range === undefined) return undefined;
  if ('ms' in range) return { ms: range.ms, firstSeq: range.firstSeq + by };
  return range.slice(by, by + count);
}

/** The ids of a pipeline batch's dead letters, or undefined when one has no sequence. */
function deadIdsOf(dead: readonly DeadLetter[]): string[] | undefined {
  const ids = new Array<string>(dead.length);
  for (let i = 0; i < dead.length; i += 1) {
    const seq = (dead[i] as DeadLetter).seq;
    if (seq === undefined) return undefined;
    ids[i] = entryIdOf(seq);
  }
  return ids;
}

function isSequenced(batch: SinkBatch): boolean {
  return batch.firstSeq !== undefined && batch.eventSeqs !== undefined;
}

export function createRespBatchWriter(options: RespBatchWriterOptions): RespBatchWriter {
  const { failure, latency, explicitIds, redis, perTrip } = options;
  const connection = new RespConnection({ url: options.url, ...(options.tls ? { tls: options.tls } : {}) });
  const writer = new RespXaddWriter(
    connection,
    { key: options.stream.key, maxLen: options.stream.maxLen, trim: options.trim },
    { key: options.deadStream.key, maxLen: options.deadStream.maxLen, trim: options.trim },
  );

  // Order of the batches as first seen (the pipeline hands them over in order), and the failed ones.
  const order = new WeakMap<SinkBatch, number>();
  let nextOrder = 0;
  const failed = new Map<SinkBatch, number>();
  /** Hand-made batches whose ids were refused on a first attempt: they get new ids, they are not "failed". */
  const renumber = new WeakSet<SinkBatch>();
  let tail: Promise<unknown> = Promise.resolve();

  // Hand-made batches: this sink's own id counter.
  const ownIds = new WeakMap<SinkBatch, OwnIds>();
  let lastMs = 0;
  let nextSeq = 0;
  let seeded: Promise<void> | undefined;

  function allocate(count: number): IdRange {
    const now = Date.now();
    if (now > lastMs) {
      lastMs = now;
      nextSeq = 0;
    }
    const range = { ms: lastMs, firstSeq: nextSeq };
    nextSeq += count;
    return range;
  }

  async function seedFromStreams(): Promise<void> {
    for (const key of [options.stream.key, options.deadStream.key]) {
      const rows = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
      const id = rows[0]?.[0];
      if (id === undefined) continue;
      const [msText = '0', seqText = '0'] = id.split('-');
      const ms = Number(msText);
      const seq = Number(seqText);
      if (ms > lastMs) {
        lastMs = ms;
        nextSeq = seq + 1;
      } else if (ms === lastMs) {
        nextSeq = Math.max(nextSeq, seq + 1);
      }
    }
  }

  /**
   * Runs `attempt` after every earlier write settled, refusing it while an earlier batch is
   * unconfirmed (its retry must land first, or its entries would look already written).
   */
  function ordered<T>(batch: SinkBatch, attempt: () => Promise<T>): Promise<T> {
    let mine = order.get(batch);
    if (mine === undefined) {
      mine = nextOrder;
      nextOrder += 1;
      order.set(batch, mine);
    }
    const position = mine;
    const run = async (): Promise<T> => {
      for (const [other, otherOrder] of failed) {
        if (other !== batch && otherOrder < position) {
          // This batch now waits too: a later one must not be written before it (its ids would be
          // refused as "already there" when it is retried, and its entries lost).
          failed.set(batch, position);
          throw failure(batch.events.length, batch.dead.length, new Error('an earlier batch failed and must be written first (explicit ids keep the stream order)'));
        }
      }
      try {
        const result = await attempt();
        failed.delete(batch);
        return result;
      } catch (error) {
        if (renumber.has(batch)) renumber.delete(batch);
        else failed.set(batch, position);
        throw error;
      }
    };
    const result = tail.then(run, run);
    tail = result.catch(() => undefined);
    return result;
  }

  /** Error replies that count: with explicit ids, "already there" is a duplicate skipped. */
  function realErrors(errors: readonly ReplyError[], deterministic: boolean): readonly ReplyError[] {
    if (!explicitIds || !deterministic || errors.length === 0) return errors;
    const real = errors.filter((e) => !e.message.includes(ID_NOT_ABOVE_TOP));
    if (real.length < errors.length) options.duplicates(errors.length - real.length);
    return real;
  }

  async function send<T extends { errors: readonly ReplyError[] }>(events: number, dead: number, request: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      const result = await request();
      latency?.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    } catch (error) {
      throw failure(events, dead, error);
    }
  }

  /** Writes one trip of a batch given as objects; returns the events' byte count. */
  async function trip(
    events: readonly NormalizedEvent[],
    dead: readonly DeadLetter[],
    eventIds: EntryIds | undefined,
    deadIds: EntryIds | undefined,
    deterministic: boolean,
  ): Promise<number> {
    const eventFields = new Array<readonly string[]>(events.length);
    for (let i = 0; i < events.length; i += 1) eventFields[i] = (events[i] as NormalizedEvent).fields;
    const deadFields = dead.map(options.deadFields);
    const result = await send(events.length, dead.length, () => writer.write(eventFields, deadFields, eventIds, deadIds));
    const errors = realErrors(result.errors, deterministic);
    if (errors.length > 0) throw failure(events.length, dead.length, new Error(describeErrors(errors, events.length)));
    return result.eventBytes;
  }

  async function writeObjects(batch: SinkBatch, retry: boolean): Promise<number> {
    const { events, dead } = batch;
    let eventIds: EntryIds | undefined;
    let deadIds: EntryIds | undefined;
    let deterministic = false;
    if (explicitIds) {
      const fromSeqs = isSequenced(batch) ? deadIdsOf(dead) : undefined;
      if (fromSeqs !== undefined && batch.eventSeqs !== undefined && batch.eventSeqs.length === events.length) {
        eventIds = batch.eventSeqs.map(entryIdOf);
        deadIds = fromSeqs;
        deterministic = true;
      } else {
        try {
          seeded ??= seedFromStreams();
          await seeded;
        } catch (error) {
          seeded = undefined;
          throw failure(events.length, dead.length, error);
        }
        let ids = ownIds.get(batch);
        if (ids === undefined) {
          ids = { events: allocate(events.length), dead: allocate(dead.length) };
          ownIds.set(batch, ids);
        }
        eventIds = ids.events;
        deadIds = ids.dead;
        // A retry of our own ids: "already there" means the first attempt landed.
        deterministic = retry;
      }
    }
    let bytes = 0;
    try {
      if (events.length <= perTrip && dead.length <= perTrip) {
        bytes = await trip(events, dead, eventIds, deadIds, deterministic);
      } else {
        // Over-sized batch: several round trips, in order, so the entries keep the batch's order.
        const trips = Math.ceil(Math.max(events.length, dead.length) / perTrip);
        for (let t = 0; t < trips; t += 1) {
          const from = t * perTrip;
          const e = events.slice(from, from + perTrip);
          const d = dead.slice(from, from + perTrip);
          bytes += await trip(e, d, shifted(eventIds, from, e.length), shifted(deadIds, from, d.length), deterministic);
        }
      }
    } catch (error) {
      if (explicitIds && !deterministic && error instanceof Error && error.message.includes(ID_NOT_ABOVE_TOP)) {
        // Our counter is behind the stream (another writer, a clock that went back): new ids next time.
        ownIds.delete(batch);
        seeded = undefined;
        attempts.delete(batch);
        renumber.add(batch);
      }
      throw error;
    }
    return bytes;
  }

  const attempts = new WeakMap<SinkBatch, number>();
  const encodeAhead = options.trim === 'each';

  return {
    encoder: () => (encodeAhead ? new RespEventEncoder(writer, perTrip, explicitIds) : undefined),
    owns: (encoder: SinkEncoder): encoder is RespEventEncoder => encoder instanceof RespEventEncoder && encoder.writer === writer,
    writeEncoded(batch: SinkBatch, encoded: RespEventEncoder): Promise<number> {
      const dead = batch.dead;
      const write = async (): Promise<number> => {
        if (encoded.released) throw failure(encoded.count, dead.length, new Error('batch was already written'));
        const deadIds = explicitIds ? deadIdsOf(dead) : undefined;
        if (explicitIds && deadIds === undefined) throw failure(encoded.count, dead.length, new Error('explicit ids: a dead letter has no sequence'));
        const trips = Math.max(encoded.trips.length, Math.ceil(dead.length / perTrip));
        let bytes = 0;
        for (let t = 0; t < trips; t += 1) {
          const from = t * perTrip;
          // Over-sized batch: several round trips, in order, so the entries keep the batch's order.
          const deadPart = trips === 1 ? dead : dead.slice(from, from + perTrip);
          const part = encoded.trips[t];
          const count = part?.count ?? 0;
          const fields = deadPart.map(options.deadFields);
          const ids = deadIds === undefined ? undefined : shifted(deadIds, trips === 1 ? 0 : from, deadPart.length);
          const result = await send(count, deadPart.length, () => writer.writeEncoded(part?.out, count, fields, ids));
          const errors = realErrors(result.errors, true);
          if (errors.length > 0) throw failure(count, deadPart.length, new Error(describeErrors(errors, count)));
          bytes += result.eventBytes;
        }
        // Confirmed: the buffers are reused by later batches (a failed batch keeps them for its retry).
        encoded.released = true;
        for (const part of encoded.trips) writer.release(part.out);
        return bytes;
      };
      return explicitIds ? ordered(batch, write) : write();
    },
    write(batch: SinkBatch): Promise<number> {
      if (!explicitIds) return writeObjects(batch, false);
      return ordered(batch, () => {
        const attempt = attempts.get(batch) ?? 0;
        attempts.set(batch, attempt + 1);
        return writeObjects(batch, attempt > 0);
      });
    },
    close: () => connection.close(),
  };
}

/** The first error reply's text, and how many more there were. */
function describeErrors(errors: readonly ReplyError[], events: number): string {
  const first = errors[0] as ReplyError;
  const what = first.index < events ? `event #${first.index}` : `dead letter #${first.index - events}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error replies)` : '';
  return `${first.message} (XADD of ${what})${more}`;
}
