/**
 * Between the sources and the pipeline when the spool is on. Every frame is first appended to the
 * spool (with its sequence), then:
 *
 * - live: the pipeline takes it at once, as without a spool;
 * - behind: the pipeline is full (Redis slow or away) or a backlog is on disk: the frame stays on
 *   disk only, and the backlog is read back in order whenever the pipeline has room; once it is
 *   read to the end, live again. A restart starts behind, at the first record after the checkpoint.
 *
 * The sources are paused (TCP/TLS) only when the spool reaches `max_bytes`; UDP datagrams are then
 * dropped and counted (`spool_full`). A corrupt record met while reading back is skipped, counted
 * (`errors{stage="corrupt"}`) and dead-lettered (`spool_corrupt`) once the backlog is read.
 */
import type { Logger } from 'pino';
import type { ComponentMetrics } from '../../observability/metrics.js';
import type { DeadLetter, Frame, Source } from '../contracts.js';
import type { EventPipeline } from '../pipeline.js';
import { RECORD_DEAD, RECORD_FRAME } from './record.js';
import type { SegmentReader } from './segments.js';
import type { Spool } from './spool.js';

/** Records read back per event-loop turn (the sockets and timers get their turn in between). */
const RECORDS_PER_TURN = 2000;

export class SpoolIntake {
  private behind = true;
  private reader: SegmentReader;
  private drainScheduled = false;
  private stopped = false;
  private sources: readonly Source[] = [];
  private sourcesPaused = false;
  private readonly cuts: Set<number>;
  private corrupt: DeadLetter[] = [];
  private idleWaiters: (() => void)[] = [];

  /** What the pipeline pauses and resumes for back-pressure (it never pauses the sockets itself). */
  readonly pressure: Source = {
    name: 'spool',
    start: async () => undefined,
    stop: async () => undefined,
    pause: () => undefined,
    resume: () => this.scheduleDrain(),
    address: () => undefined,
  };

  constructor(
    private readonly pipeline: EventPipeline,
    private readonly spool: Spool,
    private readonly metrics: ComponentMetrics,
    private readonly logger: Logger,
  ) {
    this.cuts = spool.recovery.cuts;
    this.reader = spool.reader(spool.start);
    spool.readerSegment = () => (this.behind ? this.reader.at.segment : Number.POSITIVE_INFINITY);
    spool.onFreed = () => this.updateSourcePause();
    pipeline.sequencer.startAtLeast(spool.recovery.lastSeq + 1);
    if (spool.recovery.pending > 0) {
      logger.info({ records: spool.recovery.pending, checkpoint: spool.recovery.checkpoint }, 'spool: replaying what was not confirmed before the restart');
    }
    this.scheduleDrain();
  }

  /** The real sources, paused while the spool is full. */
  attachSources(sources: readonly Source[]): void {
    this.sources = sources;
    if (this.sourcesPaused) for (const source of sources) source.pause();
  }

  /** True while a backlog on disk waits to be read back. */
  get backlog(): boolean {
    return this.behind;
  }

  readonly accept = (frame: Frame): void => {
    const seq = this.pipeline.sequencer.next(frame.receivedAtMs);
    const at = this.spool.end;
    this.spool.appendFrame(frame, seq);
    if (this.take()) this.pipeline.acceptSequenced(frame, seq);
    else this.fallBehind(at);
    this.updateSourcePause();
  };

  readonly acceptOrDrop = (frame: Frame): void => {
    if (this.spool.full) {
      this.metrics.dropped('spool_full');
      return;
    }
    this.accept(frame);
  };

  readonly acceptDead = (letter: DeadLetter): void => {
    const seq = this.pipeline.sequencer.next(letter.receivedAtMs);
    const at = this.spool.end;
    this.spool.appendDead(letter, seq);
    if (this.take()) this.pipeline.acceptSequencedDead(letter, seq);
    else this.fallBehind(at);
    this.updateSourcePause();
  };

  private take(): boolean {
    return !this.behind && !this.pipeline.full && !this.stopped;
  }

  private fallBehind(at: { segment: number; offset: number }): void {
    if (this.behind) return;
    this.behind = true;
    this.reader.closeFile();
    this.reader = this.spool.reader(at);
  }

  private updateSourcePause(): void {
    const bytes = this.spool.bytes;
    const max = this.spool.maxBytes;
    if (!this.sourcesPaused && bytes >= max) {
      this.sourcesPaused = true;
      this.logger.warn({ bytes }, 'spool full: pausing the TCP/TLS sources (UDP datagrams are dropped and counted)');
      for (const source of this.sources) source.pause();
    } else if (this.sourcesPaused && bytes < max * 0.9) {
      this.sourcesPaused = false;
      this.logger.info({ bytes }, 'spool has room again: resuming the sources');
      for (const source of this.sources) source.resume();
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || !this.behind || this.stopped) return;
    this.drainScheduled = true;
    setImmediate(() => this.drain());
  }

  /** Reads the backlog back into the pipeline while it has room. */
  private drain(): void {
    this.drainScheduled = false;
    if (!this.behind || this.stopped) return;
    this.spool.flush();
    for (let budget = RECORDS_PER_TURN; budget > 0 && !this.pipeline.full; budget -= 1) {
      const step = this.reader.next();
      if (step.kind === 'end') {
        this.caughtUp();
        return;
      }
      if (step.kind === 'corrupt') {
        this.metrics.error('corrupt');
        this.logger.error({ segment: step.segment, offset: step.offset, reason: step.reason }, 'spool: corrupt record skipped (dead-lettered)');
        this.corrupt.push({
          source: 'spool',
          peer: `spool:segment-${step.segment}@${step.offset}`,
          receivedAtMs: Date.now(),
          code: 'spool_corrupt',
          reason: `spool record unreadable: ${step.reason}; the rest of its segment was skipped`,
          stage: 'spool',
          raw: step.raw,
        });
        continue;
      }
      const { record } = step;
      if (record.type !== RECORD_FRAME && record.type !== RECORD_DEAD) continue;
      if (record.seq <= this.spool.checkpoint) continue;
      if (record.type === RECORD_FRAME) this.pipeline.acceptSequenced(record.frame, record.seq);
      else this.pipeline.acceptSequencedDead(record.letter, record.seq);
      this.metrics.sentEvents();
      if (this.cuts.delete(record.seq)) this.pipeline.cutNow();
    }
    if (!this.pipeline.full) this.scheduleDrain();
  }

  private caughtUp(): void {
    this.behind = false;
    this.reader.closeFile();
    // Dead letters for corrupt records go after the backlog: new sequences, above everything read.
    const corrupt = this.corrupt;
    this.corrupt = [];
    for (const letter of corrupt) this.pipeline.acceptDead(letter);
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Shutdown: the sources have stopped. Keeps reading the backlog into the pipeline until it is
   * read or `deadlineMs` (epoch) passes; what is left stays on disk for the next start.
   */
  async finish(deadlineMs: number): Promise<void> {
    this.spool.flush();
    if (this.behind) {
      const caughtUp = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadlineMs - Date.now()));
      });
      this.scheduleDrain();
      await Promise.race([caughtUp, late]);
      clearTimeout(timer);
    }
    this.stopped = true;
  }
}
