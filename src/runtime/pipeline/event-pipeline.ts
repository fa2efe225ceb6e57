import type { Logger } from 'pino';
import type { RuntimeSettings } from '../../config/pipeline.js';
import type { ComponentMetrics } from '../../observability/metrics.js';
import type { NormalizedEvent } from '../../parse/event.js';
import { parseFrame } from '../../parse/index.js';
import type { DeadLetter, Frame, Sink, SinkBatch, Source } from '../contracts.js';
import { FrameSequencer } from '../sequence.js';
import { NO_EVENTS, NO_SEQS, type EventPipelineOptions, type PendingBatch } from './batch.js';
import { encoderOf, type EncodedSinkBatch, type SinkEncoder } from './encoding.js';

/**
 * Bytes an event kept as objects costs per byte of its raw line: the fields array and its ~120 strings
 * (UTF-16 or one-byte, with headers), plus the line they slice, measured at ~3–4× the raw size.
 * Kept in this module: `take` reads it per event, and an imported binding is a load through a cell.
 */
const HEAP_BYTES_PER_RAW_BYTE = 3;

/**
 * The batch pipeline: frames are parsed as they arrive (synchronously, no per-event promise), collected
 * into batches, and each batch is written to every sink with retries. A sink that offers an encoder
 * (`EncodingSink`, e.g. the Redis sink's RESP encoding) gets each event as soon as it is parsed; when
 * every sink does, the pipeline keeps no event objects at all, only what the sinks encoded.
 *
 * Memory is bounded by `buffer_max_bytes`, counted as what is really held between sources and sinks:
 * the bytes the sinks' encoders hold (the RESP payloads, kept until Redis confirmed them, for retries),
 * plus, for events kept as objects (a sink without an encoder, e.g. the state stage),
 * `HEAP_BYTES_PER_RAW_BYTE` × their raw size, plus the raw size of dead letters. Above it, and while
 * `max_in_flight_batches` writes are outstanding and as many are ready, the TCP/TLS sources are paused
 * (the sender's buffer takes over); UDP cannot be paused, so UDP frames that arrive while the buffer is
 * full are dropped and counted (`buffer_full`).
 */
export class EventPipeline {
  private settings: RuntimeSettings;
  private sinks: readonly Sink[];
  private readonly logger: Logger;
  private readonly parseMetrics: ComponentMetrics;
  private readonly bufferMetrics: ComponentMetrics;
  private sources: readonly Source[] = [];

  private events: NormalizedEvent[] = [];
  /** Sequences of `events` (kept only with them). */
  private eventSeqs: number[] = [];
  private dead: DeadLetter[] = [];
  /** Sequences of the open batch's first and last frame (-1: no frame yet). */
  private firstSeq = -1;
  private lastSeq = -1;
  /** Gives every frame its sequence (entry ids, applied sequences): see runtime/sequence.ts. */
  readonly sequencer = new FrameSequencer();
  /** Events in the open batch (kept in `events` only when a sink has no encoder). */
  private eventCount = 0;
  /** Per sink (same order as `sinks`), its encoder for the open batch; undefined until the batch opens. */
  private encoders: (SinkEncoder | undefined)[] | undefined;
  private keepEvents = true;
  /** Parse counters not yet added to the metrics (added per batch, not per frame: prom-client costs). */
  private unreportedFrames = 0;
  private unreportedEvents = 0;
  private batchBytes = 0;
  private bufferedBytes = 0;
  private readonly ready: PendingBatch[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private stopping = false;
  private giveUpAtMs = Number.POSITIVE_INFINITY;
  private idleWaiters: Array<() => void> = [];
  private lastWriteErrorLogMs = 0;
  private lostOnShutdown = 0;
  /** The sink set of the batches being written (a batch of a newer set waits until they are done). */
  private writingSinks: readonly Sink[] | undefined;
  /** Sink sets replaced by `reconfigure` whose batches are not all written yet. */
  private retired: Array<{ readonly sinks: readonly Sink[]; readonly done: () => void }> = [];

  constructor(private readonly options: EventPipelineOptions) {
    this.settings = options.settings;
    this.sinks = options.sinks;
    this.logger = options.logger;
    this.parseMetrics = options.parseMetrics;
    this.bufferMetrics = options.bufferMetrics;
  }

  /** The sources to pause and resume for back-pressure. */
  attachSources(sources: readonly Source[]): void {
    this.sources = sources;
    if (this.paused) for (const source of sources) source.pause();
  }

  /** Accepts a frame from a source that can be paused (TCP, TLS, files). */
  readonly accept = (frame: Frame): void => {
    this.take(frame, this.sequencer.next(frame.receivedAtMs));
  };

  /** Accepts a frame from a source that cannot be paused (UDP): dropped and counted when the buffer is full. */
  readonly acceptOrDrop = (frame: Frame): void => {
    if (this.bufferedBytes >= this.settings.buffer_max_bytes) {
      this.bufferMetrics.dropped('buffer_full');
      return;
    }
    this.take(frame, this.sequencer.next(frame.receivedAtMs));
  };

  /** Records a dead letter produced before parsing (framing errors). */
  readonly acceptDead = (letter: DeadLetter): void => {
    this.acceptSequencedDead(letter, this.sequencer.next(letter.receivedAtMs));
  };

  /** Takes a frame whose sequence was given already (the spool: recorded before it is taken). */
  acceptSequenced(frame: Frame, seq: number): void {
    this.take(frame, seq);
  }

  /** `acceptDead` with a sequence given already (the spool). */
  acceptSequencedDead(letter: DeadLetter, seq: number): void {
    this.dead.push(letter.seq === seq ? letter : { ...letter, seq });
    this.noteSeq(seq);
    this.addBytes(letter.raw.length);
    this.parseMetrics.dropped(letter.code);
    this.afterAdd();
  }

  /** Closes the open batch now (the spool's replay cuts where the crashed run had cut). */
  cutNow(): void {
    this.cut();
  }

  /** True while the pipeline holds as much as it may (the sources are paused). */
  get full(): boolean {
    return this.paused;
  }

  private noteSeq(seq: number): void {
    if (this.firstSeq < 0) this.firstSeq = seq;
    this.lastSeq = seq;
  }

  /** Opens a batch: asks every sink for an encoder; events are kept as objects only if one has none. */
  private open(): (SinkEncoder | undefined)[] {
    const encoders = this.sinks.map(encoderOf);
    this.encoders = encoders;
    this.keepEvents = encoders.length === 0 || encoders.some((encoder) => encoder === undefined);
    return encoders;
  }

  private take(frame: Frame, seq: number): void {
    this.unreportedFrames += 1;
    this.noteSeq(seq);
    const result = parseFrame(frame.data, frame, frame.truncated ? { truncated: true } : undefined);
    if (result.ok) {
      const event = result.event;
      const encoders = this.encoders ?? this.open();
      let held = 0;
      if (this.keepEvents) {
        this.events.push(event);
        this.eventSeqs.push(seq);
        held = frame.data.length * HEAP_BYTES_PER_RAW_BYTE;
      }
      for (let i = 0; i < encoders.length; i += 1) {
        const encoder = encoders[i];
        if (encoder !== undefined) held += encoder.add(event, seq);
      }
      this.eventCount += 1;
      this.unreportedEvents += 1;
      this.addBytes(held);
    } else {
      this.dead.push({
        source: frame.source,
        peer: frame.peer,
        receivedAtMs: frame.receivedAtMs,
        code: result.code,
        reason: result.reason,
        stage: 'parse',
        raw: frame.data,
        seq,
      });
      this.parseMetrics.dropped(result.code);
      this.addBytes(frame.data.length);
    }
    this.afterAdd();
  }

  private reportParseCounts(): void {
    if (this.unreportedFrames > 0) this.parseMetrics.receivedEvents(this.unreportedFrames);
    if (this.unreportedEvents > 0) this.parseMetrics.sentEvents(this.unreportedEvents);
    this.unreportedFrames = 0;
    this.unreportedEvents = 0;
  }

  private addBytes(bytes: number): void {
    this.batchBytes += bytes;
    this.bufferedBytes += bytes;
  }

  private afterAdd(): void {
    if (this.eventCount + this.dead.length >= this.settings.batch_max_events) {
      this.cut();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cut();
      }, this.settings.batch_max_wait_ms);
    }
    this.updatePressure();
  }

  /** Closes the current batch and queues it for writing. */
  private cut(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.reportParseCounts();
    if (this.eventCount === 0 && this.dead.length === 0) return;
    const events: readonly NormalizedEvent[] = this.keepEvents ? this.events : NO_EVENTS;
    const eventSeqs: readonly number[] = this.keepEvents ? this.eventSeqs : NO_SEQS;
    const dead = this.dead;
    const eventCount = this.eventCount;
    const encoders = this.encoders ?? [];
    const views = new Map<Sink, SinkBatch>();
    const { firstSeq, lastSeq } = this;
    const batch: PendingBatch = {
      sinks: this.sinks, events, eventSeqs, dead, eventCount, firstSeq, lastSeq, bytes: this.batchBytes, views, remaining: [...this.sinks],
    };
    this.sinks.forEach((sink, i) => {
      const encoded = encoders[i];
      if (encoded === undefined) {
        views.set(sink, batch);
      } else {
        const view: EncodedSinkBatch = { events, eventSeqs, dead, encoded, eventCount, firstSeq, lastSeq };
        views.set(sink, view);
      }
    });
    this.options.onCut?.(firstSeq, lastSeq);
    this.ready.push(batch);
    this.events = [];
    this.eventSeqs = [];
    this.firstSeq = -1;
    this.lastSeq = -1;
    this.dead = [];
    this.eventCount = 0;
    this.encoders = undefined;
    this.batchBytes = 0;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.settings.max_in_flight_batches && this.ready.length > 0) {
      // After a reconfigure, the new sinks start once the old ones confirmed everything before them:
      // the order of stream entries and of session changes (a logout after its login) holds across it.
      if (this.inFlight > 0 && (this.ready[0] as PendingBatch).sinks !== this.writingSinks) break;
      const batch = this.ready.shift() as PendingBatch;
      this.writingSinks = batch.sinks;
      this.inFlight += 1;
      void this.writeWithRetry(batch).then((written) => this.options.onBatchDone?.(batch.firstSeq, batch.lastSeq, written)).finally(() => {
        this.inFlight -= 1;
        this.bufferedBytes -= batch.bytes;
        this.pump();
        this.updatePressure();
        this.settleRetired();
        this.notifyIfIdle();
      });
    }
  }

  /**
   * Switches to a new set of sinks (and settings) at a batch boundary: the open batch is sealed with
   * the old sinks' encoders, later events go into batches for `sinks`, and no batch for `sinks` is
   * written before every earlier batch was. Sinks in both sets just carry on. Resolves when every
   * batch cut for the old set is written (or given up at shutdown): the caller may then close the
   * sinks it no longer uses.
   */
  reconfigure(change: { readonly sinks: readonly Sink[]; readonly settings?: RuntimeSettings }): Promise<void> {
    this.cut();
    const old = this.sinks;
    this.sinks = change.sinks;
    if (change.settings !== undefined) this.settings = change.settings;
    return new Promise((resolve) => {
      this.retired.push({ sinks: old, done: resolve });
      this.settleRetired();
      this.updatePressure();
    });
  }

  private settleRetired(): void {
    if (this.retired.length === 0) return;
    this.retired = this.retired.filter((entry) => {
      const busy = (this.inFlight > 0 && this.writingSinks === entry.sinks) || this.ready.some((batch) => batch.sinks === entry.sinks);
      if (!busy) entry.done();
      return busy;
    });
  }

  /** Resolves true once every sink confirmed the batch, false when the shutdown deadline gave it up. */
  private async writeWithRetry(batch: PendingBatch): Promise<boolean> {
    let delay = this.settings.retry_initial_ms;
    for (;;) {
      const results = await Promise.allSettled(batch.remaining.map((sink) => sink.write(batch.views.get(sink) ?? batch)));
      const failed: Sink[] = [];
      results.forEach((result, i) => {
        const sink = batch.remaining[i] as Sink;
        if (result.status === 'rejected') {
          failed.push(sink);
          this.logWriteError(sink, result.reason);
        }
      });
      batch.remaining = failed;
      if (failed.length === 0) return true;
      if (this.stopping && Date.now() + delay > this.giveUpAtMs) {
        const lost = batch.eventCount + batch.dead.length;
        this.lostOnShutdown += lost;
        this.bufferMetrics.dropped('shutdown_timeout', lost);
        this.logger.error({ events: lost, sinks: failed.map((s) => s.name) }, 'shutdown deadline reached: batch not written');
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, this.settings.retry_max_ms);
    }
  }

  private logWriteError(sink: Sink, reason: unknown): void {
    this.bufferMetrics.error('sink_write');
    const now = Date.now();
    if (now - this.lastWriteErrorLogMs < 5000) return;
    this.lastWriteErrorLogMs = now;
    const message = reason instanceof Error ? reason.message : String(reason);
    this.logger.warn({ sink: sink.name, err: message }, 'write failed; retrying with backoff (sources pause while it lasts)');
  }

  private updatePressure(): void {
    const full =
      this.bufferedBytes >= this.settings.buffer_max_bytes ||
      (this.inFlight >= this.settings.max_in_flight_batches && this.ready.length >= this.settings.max_in_flight_batches);
    if (full && !this.paused) {
      this.paused = true;
      for (const source of this.sources) source.pause();
    } else if (!full && this.paused && this.bufferedBytes < this.settings.buffer_max_bytes / 2 && this.ready.length === 0) {
      this.paused = false;
      for (const source of this.sources) source.resume();
    }
  }

  /** Bytes held for what was read from sources and not yet confirmed by every sink (see the class comment). */
  get buffered(): number {
    return this.bufferedBytes;
  }

  private notifyIfIdle(): void {
    if (this.inFlight === 0 && this.ready.length === 0 && this.eventCount === 0 && this.dead.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Writes what is buffered now and resolves when every sink confirmed it (used by tests and the demo). */
  flush(): Promise<void> {
    this.cut();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.notifyIfIdle();
    });
  }

  /**
   * Flushes everything and stops retrying at the deadline. Call after the sources stopped (they emit
   * their last frames while stopping). Resolves true when everything was written.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    this.giveUpAtMs = Date.now() + timeoutMs;
    const idle = this.flush();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs + 1000);
    });
    const done = await Promise.race([idle.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return done && this.lostOnShutdown === 0;
  }
}
