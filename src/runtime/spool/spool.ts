/**
 * The disk spool: a write-ahead log of what the sources read. Every frame (and framing dead letter)
 * is appended with its sequence before the pipeline takes it; batch cuts and checkpoints (every
 * frame up to a sequence confirmed by every sink) are appended too. A restart replays what follows
 * the last checkpoint with the same sequences, so Redis and the state scripts skip what they have.
 *
 * Writes are grouped: records go to a buffer that is written (one `write` syscall) at the end of the
 * event-loop turn, before a batch is handed to the sinks, and when it passes 1 MiB. Once written, a
 * record survives a crash of the worker; `fsync` decides when it also survives a crash of the machine.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ComponentMetrics } from '../../observability/metrics.js';
import type { DeadLetter, Frame } from '../contracts.js';
import { RECORD_CHECKPOINT, RECORD_CUT, RecordWriter } from './record.js';
import { fileSize, listSegments, segmentName, SegmentReader, type SpoolPosition } from './segments.js';

export type FsyncPolicy = 'always' | 'batch' | 'interval' | 'never';

export interface SpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  /** Segment size; default max_bytes / 8 within 1–64 MiB. */
  readonly segmentBytes?: number;
  readonly logger: Logger;
  readonly metrics: ComponentMetrics;
}

interface SegmentInfo {
  size: number;
  /** Highest sequence of any record in it (-1: none). */
  maxSeq: number;
}

/** What the spool found on disk when it opened. */
export interface SpoolRecovery {
  /** Every frame up to this sequence was confirmed (-1: none). */
  readonly checkpoint: number;
  /** Last sequences of the batches cut before the restart (a replay cuts there too). */
  readonly cuts: Set<number>;
  /** Highest sequence on disk (-1: none): new frames are numbered above it. */
  readonly lastSeq: number;
  /** Records after the checkpoint, to replay. */
  readonly pending: number;
}

const FLUSH_AT_BYTES = 1 << 20;
/** Floor of the `batch` policy while no batch is cut (Redis away): unsynced records wait at most this. */
const BATCH_POLICY_MAX_WAIT_MS = 1000;

export class Spool {
  readonly recovery: SpoolRecovery;
  private readonly dir: string;
  private readonly segments = new Map<number, SegmentInfo>();
  private active: number;
  private fd: number;
  private readonly out = new RecordWriter();
  private pendingRecords = 0;
  private unsynced = false;
  private flushScheduled = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private checkpointSeq: number;
  private readonly batches: { lastSeq: number; done: boolean }[] = [];
  private readonly segmentBytes: number;
  private closed = false;
  /** The segment the backlog reader is in (segments before it were read); Infinity when not behind. */
  readerSegment: () => number = () => Number.POSITIVE_INFINITY;
  /** Called when deleting segments freed room. */
  onFreed: () => void = () => undefined;

  constructor(private readonly options: SpoolOptions) {
    this.dir = options.dir;
    this.segmentBytes = options.segmentBytes ?? Math.min(64 << 20, Math.max(1 << 20, Math.floor(options.maxBytes / 8)));
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.recovery = this.scan();
    this.checkpointSeq = this.recovery.checkpoint;
    const last = Math.max(-1, ...this.segments.keys());
    this.active = last + 1;
    this.fd = openSync(join(this.dir, segmentName(this.active)), 'a', 0o600);
    this.segments.set(this.active, { size: 0, maxSeq: -1 });
    if (options.fsync === 'interval' || options.fsync === 'batch') {
      const every = options.fsync === 'interval' ? options.fsyncIntervalMs : BATCH_POLICY_MAX_WAIT_MS;
      this.syncTimer = setInterval(() => this.sync(), every);
      this.syncTimer.unref();
    }
  }

  /** Reads every segment once: the checkpoint, the cuts after it, the last sequence. Never throws on bad records. */
  private scan(): SpoolRecovery {
    let checkpoint = -1;
    let lastSeq = -1;
    const cuts: number[] = [];
    for (const index of listSegments(this.dir)) this.segments.set(index, { size: fileSize(this.dir, index), maxSeq: -1 });
    const first = this.segments.size === 0 ? 0 : Math.min(...this.segments.keys());
    const reader = this.reader({ segment: first, offset: 0 }, () => false);
    const recordSeqs: number[] = [];
    for (let step = reader.next(); step.kind !== 'end'; step = reader.next()) {
      if (step.kind === 'corrupt') {
        this.options.logger.warn({ segment: segmentName(step.segment), offset: step.offset, reason: step.reason }, 'spool: corrupt record; the rest of the segment is skipped');
        continue;
      }
      const { record } = step;
      const info = this.segments.get(step.segment);
      if (info && record.seq > info.maxSeq) info.maxSeq = record.seq;
      if (record.seq > lastSeq) lastSeq = record.seq;
      if (record.type === RECORD_CHECKPOINT) checkpoint = Math.max(checkpoint, record.seq);
      else if (record.type === RECORD_CUT) cuts.push(record.seq);
      else recordSeqs.push(record.seq);
    }
    reader.closeFile();
    const pending = recordSeqs.filter((seq) => seq > checkpoint).length;
    return { checkpoint, cuts: new Set(cuts.filter((seq) => seq > checkpoint)), lastSeq, pending };
  }

  /** A reader of the records from `position` (`isActive` tells which segment may still grow). */
  reader(position: SpoolPosition, isActive: (segment: number) => boolean = (segment) => segment === this.active): SegmentReader {
    return new SegmentReader(
      this.dir,
      position,
      () => [...this.segments.keys()].sort((a, b) => a - b),
      (segment) => this.segments.get(segment)?.size ?? 0,
      isActive,
    );
  }

  /** The position of the first record on disk (where a restart's replay starts). */
  get start(): SpoolPosition {
    return { segment: Math.min(...this.segments.keys()), offset: 0 };
  }

  /** Where the next appended record will start. */
  get end(): SpoolPosition {
    const info = this.segments.get(this.active) as SegmentInfo;
    return { segment: this.active, offset: info.size + this.out.length };
  }

  get checkpoint(): number {
    return this.checkpointSeq;
  }

  /** Bytes on disk plus those waiting to be written. */
  get bytes(): number {
    let total = this.out.length;
    for (const info of this.segments.values()) total += info.size;
    return total;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  get full(): boolean {
    return this.bytes >= this.options.maxBytes;
  }

  appendFrame(frame: Frame, seq: number): void {
    this.out.frame(frame, seq);
    this.note(seq);
  }

  appendDead(letter: DeadLetter, seq: number): void {
    this.out.dead(letter, seq);
    this.note(seq);
  }

  private note(seq: number): void {
    const info = this.segments.get(this.active) as SegmentInfo;
    if (seq > info.maxSeq) info.maxSeq = seq;
    this.pendingRecords += 1;
    if (this.out.length >= FLUSH_AT_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** A batch was cut: recorded (so a replay cuts there) and written before any sink sees the batch. */
  cut(lastSeq: number): void {
    this.out.marker(RECORD_CUT, lastSeq);
    // The segment must outlive this marker's batch (a replay needs the cut), like the batch's frames.
    const info = this.segments.get(this.active) as SegmentInfo;
    if (lastSeq > info.maxSeq) info.maxSeq = lastSeq;
    this.batches.push({ lastSeq, done: false });
    this.flush();
    if (this.options.fsync === 'batch') this.sync();
  }

  /** A batch is done: confirmed by every sink (`written`), or given up at shutdown (it stays spooled). */
  batchDone(lastSeq: number, written: boolean): void {
    if (!written) return;
    const entry = this.batches.find((batch) => batch.lastSeq === lastSeq);
    if (entry) entry.done = true;
    let advanced = false;
    while (this.batches[0]?.done === true) {
      this.checkpointSeq = Math.max(this.checkpointSeq, (this.batches.shift() as { lastSeq: number }).lastSeq);
      advanced = true;
    }
    if (!advanced || this.closed) return;
    this.out.marker(RECORD_CHECKPOINT, this.checkpointSeq);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    this.deleteConfirmed();
  }

  /** Deletes the segments whose records are all confirmed and read (never the one being written). */
  private deleteConfirmed(): void {
    const readerAt = this.readerSegment();
    let freed = false;
    for (const [index, info] of this.segments) {
      if (index === this.active || index >= readerAt || info.maxSeq > this.checkpointSeq) continue;
      try {
        unlinkSync(join(this.dir, segmentName(index)));
      } catch (error) {
        this.options.logger.warn({ segment: segmentName(index), err: error instanceof Error ? error.message : String(error) }, 'spool: cannot delete a confirmed segment');
        continue;
      }
      this.segments.delete(index);
      freed = true;
    }
    if (freed) this.onFreed();
  }

  /** Writes the buffered records (one syscall); fsync with the `always` policy; rotates a full segment. */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.out.length === 0) return;
    const data = this.out.bytes();
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written, data.length - written);
    const info = this.segments.get(this.active) as SegmentInfo;
    info.size += data.length;
    this.out.clear();
    this.unsynced = true;
    if (this.pendingRecords > 0) {
      this.options.metrics.receivedEvents(this.pendingRecords);
      this.options.metrics.receivedBytes(data.length);
      this.pendingRecords = 0;
    }
    if (this.options.fsync === 'always') this.sync();
    if (info.size >= this.segmentBytes) this.rotate();
  }

  private sync(): void {
    if (!this.unsynced || this.closed) return;
    fsyncSync(this.fd);
    this.unsynced = false;
  }

  private rotate(): void {
    if (this.options.fsync !== 'never') this.sync();
    closeSync(this.fd);
    this.active += 1;
    this.fd = openSync(join(this.dir, segmentName(this.active)), 'a', 0o600);
    this.segments.set(this.active, { size: 0, maxSeq: -1 });
    // Each segment opens with the checkpoint, so deleting older ones never loses it.
    if (this.checkpointSeq >= 0) this.out.marker(RECORD_CHECKPOINT, this.checkpointSeq);
    this.deleteConfirmed();
  }

  /** Writes the last checkpoint and everything buffered, fsyncs (whatever the policy) and closes. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.sync();
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    closeSync(this.fd);
  }
}
