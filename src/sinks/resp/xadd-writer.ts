import { EncodedBatch, XaddEncoder, type EntryIds, type XaddTarget } from './encode.js';
import type { RespConnection, ReplyError } from './connection.js';

const MAX_FREE_BUFFERS = 8;
const MAX_KEPT_BUFFER_BYTES = 16 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const BUFFER_ROUNDING = 1 << 20;

/** What one round trip of XADDs came back with. */
export interface XaddTripResult {
  /** Sum of the UTF-8 sizes of the events' names and values (the sent-bytes metric). */
  readonly eventBytes: number;
  /** Error replies; `index` < events count → an event's XADD, else a dead letter's. */
  readonly errors: readonly ReplyError[];
}

/**
 * Encodes the XADDs of one trip (events to one stream, dead letters to another) as one RESP2 buffer,
 * sends it in one write and waits for all its replies.
 */
export class RespXaddWriter {
  private readonly encoder = new XaddEncoder();
  private readonly events;
  private readonly dead;
  /** Bytes per entry seen so far, to size the next trip's buffer (growing it means copying it). */
  private bytesPerEntry = 2048;
  /** Buffers of trips whose replies all arrived, for the next trips. */
  private readonly free: Buffer[] = [];

  constructor(
    private readonly connection: RespConnection,
    events: XaddTarget,
    dead: XaddTarget,
  ) {
    this.events = this.encoder.prelude(events);
    this.dead = this.encoder.prelude(dead);
  }

  /**
   * An empty buffer for a trip of up to `entries` entries, to encode into as they arrive (`appendEvent`,
   * then `writeEncoded`). Give it back with `release` once Redis confirmed it.
   */
  tripBuffer(entries: number): EncodedBatch {
    // Rounded up to whole MiB so that kept buffers keep fitting while bytesPerEntry wobbles: a fresh
    // buffer costs page faults on every page it is written to.
    const expected = Math.ceil((entries * this.bytesPerEntry * 1.2 + 64) / BUFFER_ROUNDING) * BUFFER_ROUNDING;
    let buffer = this.free.pop();
    if (buffer === undefined || buffer.length < expected) buffer = Buffer.allocUnsafe(expected);
    return new EncodedBatch(buffer);
  }

  /**
   * Encodes the XADD of one event into `out` (`trim: 'each'`: every TRIM_EVERY-th XADD of a trip
   * trims), with its explicit id or `*`.
   */
  appendEvent(out: EncodedBatch, fields: readonly string[], id?: string): void {
    this.encoder.appendEntry(out, this.events, fields, id, out.entries, false);
  }

  /** Keeps a trip buffer for the next trips (call only once nothing will send it again). */
  release(out: EncodedBatch): void {
    if (this.free.length < MAX_FREE_BUFFERS && out.buffer.length <= MAX_KEPT_BUFFER_BYTES) this.free.push(out.buffer);
    out.buffer = EMPTY;
    out.length = 0;
  }

  /**
   * Sends one trip whose `eventCount` event XADDs were already encoded into `events` (`appendEvent`),
   * followed by the dead letters'. The buffer is kept as it is (the caller may send it again).
   */
  async writeEncoded(
    events: EncodedBatch | undefined,
    eventCount: number,
    dead: readonly (readonly string[])[],
    deadIds?: EntryIds,
  ): Promise<XaddTripResult> {
    let payload = events === undefined ? EMPTY : events.bytes();
    if (events !== undefined && eventCount > 0) this.bytesPerEntry = events.length / eventCount;
    if (dead.length > 0) {
      const out = new EncodedBatch(Buffer.allocUnsafe(dead.length * 512 + 64));
      this.encoder.append(out, this.dead, dead, deadIds);
      payload = payload.length === 0 ? out.bytes() : Buffer.concat([payload, out.bytes()]);
    }
    const errors = await this.connection.send(payload, eventCount + dead.length);
    return { eventBytes: events?.fieldBytes ?? 0, errors };
  }

  async write(
    events: readonly (readonly string[])[],
    dead: readonly (readonly string[])[],
    eventIds: EntryIds | undefined,
    deadIds: EntryIds | undefined,
  ): Promise<XaddTripResult> {
    // A fresh buffer per trip: the socket keeps a reference to it until it is flushed.
    const entries = events.length + dead.length;
    const expected = Math.ceil(entries * this.bytesPerEntry * 1.2) + 64;
    let buffer = this.free.pop();
    if (buffer === undefined || buffer.length < expected) buffer = Buffer.allocUnsafe(expected);
    const out = new EncodedBatch(buffer);
    if (events.length > 0) this.encoder.append(out, this.events, events, eventIds);
    const eventBytes = out.fieldBytes;
    if (dead.length > 0) this.encoder.append(out, this.dead, dead, deadIds);
    this.bytesPerEntry = out.length / entries;
    const errors = await this.connection.send(out.bytes(), entries);
    // All replies arrived, so the socket is done with the buffer. (After a failure it is left to the GC.)
    if (this.free.length < MAX_FREE_BUFFERS && out.buffer.length <= MAX_KEPT_BUFFER_BYTES) this.free.push(out.buffer);
    return { eventBytes, errors };
  }
}
