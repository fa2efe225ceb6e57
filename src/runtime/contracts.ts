import type { Logger } from 'pino';
import type { DeadReasonCode, FrameOrigin, NormalizedEvent } from '../parse/event.js';
import type { ComponentMetrics } from '../observability/metrics.js';

/** One log as read from the wire, framing removed. */
export interface Frame extends FrameOrigin {
  /** The raw bytes of one log line (no framing, no trailing LF). */
  readonly data: Buffer;
  /** True when the frame was cut at `max_frame_bytes` (the event then carries `fortistream.truncated`). */
  readonly truncated?: boolean;
}

/** Something that could not become an event, with the reason; written to the dead-letter stream. */
export interface DeadLetter extends FrameOrigin {
  readonly code: DeadReasonCode;
  readonly reason: string;
  /** Pipeline stage that refused it: `framing`, `parse`, `validate`, … */
  readonly stage: string;
  /** The raw bytes (the sink caps and escapes them). */
  readonly raw: Buffer;
  /** Its frame's sequence (runtime/sequence.ts), set by the pipeline: decides its stream entry id. */
  readonly seq?: number;
}

/** What a source may call. Both calls are synchronous and cheap; the runtime batches. */
export interface SourceContext {
  emit(frame: Frame): void;
  dead(letter: DeadLetter): void;
  readonly logger: Logger;
  readonly metrics: ComponentMetrics;
}

/** A listener (or reader) that turns bytes into frames. */
export interface Source {
  readonly name: string;
  /** Binds/opens; resolves once it is accepting. Logs one line with the bound address. */
  start(): Promise<void>;
  /** Stops accepting, ends connections after their buffered frames were emitted. */
  stop(): Promise<void>;
  /** Back-pressure: stop reading from sockets (TCP/TLS) until `resume()`. UDP counts drops instead. */
  pause(): void;
  resume(): void;
  /** The bound address once started (port 0 in the config resolves to the real port here). */
  address(): { host: string; port: number } | undefined;
}

/** A destination for batches of events (and dead letters). */
export interface Sink {
  readonly name: string;
  /** Writes one batch; resolves when Redis (or the target) confirmed it. Must not throw per event. */
  write(batch: SinkBatch): Promise<void>;
  close(): Promise<void>;
}

export interface SinkBatch {
  readonly events: readonly NormalizedEvent[];
  readonly dead: readonly DeadLetter[];
  /**
   * Set by the pipeline (runtime/sequence.ts): the sequences of `events` (same order), and the lowest
   * and highest sequence of the batch's frames. They stay the same across retries and spool replays,
   * so sinks derive idempotent writes from them (entry ids, the state scripts' applied sequence).
   */
  readonly eventSeqs?: readonly number[];
  readonly firstSeq?: number;
  readonly lastSeq?: number;
}
