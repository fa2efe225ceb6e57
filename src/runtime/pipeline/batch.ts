import type { Logger } from 'pino';
import type { RuntimeSettings } from '../../config/pipeline.js';
import type { ComponentMetrics } from '../../observability/metrics.js';
import type { NormalizedEvent } from '../../parse/event.js';
import type { Sink, SinkBatch } from '../contracts.js';

export const NO_EVENTS: readonly NormalizedEvent[] = Object.freeze([]);
export const NO_SEQS: readonly number[] = Object.freeze([]);

export interface PendingBatch extends SinkBatch {
  /** The sink set the batch was cut for (see `reconfigure`). */
  readonly sinks: readonly Sink[];
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly bytes: number;
  readonly eventCount: number;
  /** What each sink is given: the batch itself, or an `EncodedSinkBatch` for sinks that encoded. */
  readonly views: ReadonlyMap<Sink, SinkBatch>;
  /** Sinks that still have to confirm this batch. */
  remaining: Sink[];
}

export interface EventPipelineOptions {
  readonly settings: RuntimeSettings;
  readonly sinks: readonly Sink[];
  readonly logger: Logger;
  /** Counters of the parse stage: received frames, sent events, dropped by dead-letter code. */
  readonly parseMetrics: ComponentMetrics;
  /** Counters of the buffer between sources and sinks: dropped by reason (`buffer_full`, `shutdown_timeout`). */
  readonly bufferMetrics: ComponentMetrics;
  /**
   * Called when a batch is cut, before any sink is given it (the spool records the cut there, so a
   * replay cuts at the same place): `firstSeq`…`lastSeq` are its frames' sequences.
   */
  readonly onCut?: (firstSeq: number, lastSeq: number) => void;
  /** Called once per batch when every sink confirmed it (`written`) or the shutdown deadline gave it up. */
  readonly onBatchDone?: (firstSeq: number, lastSeq: number, written: boolean) => void;
}
