import type { NormalizedEvent } from '../../parse/event.js';
import type { Sink, SinkBatch } from '../contracts.js';

/**
 * What a sink keeps of one batch's events, taken one event at a time as they are parsed (e.g. their
 * RESP encoding). The pipeline then holds no event objects for that sink: they die young (cheap GC)
 * and the batch costs what the sink keeps, off the JS heap when that is a Buffer.
 */
export interface SinkEncoder {
  /**
   * Takes one event (in order) with its frame's sequence (runtime/sequence.ts; the pipeline always
   * gives it); returns how many bytes the sink now holds for the batch.
   */
  add(event: NormalizedEvent, seq?: number): number;
}

/** A sink that can take events as they arrive (optional capability of a `Sink`). */
export interface EncodingSink extends Sink {
  /** A fresh encoder for the next batch, or undefined to get the batch's events at write time. */
  encoder(): SinkEncoder | undefined;
}

/**
 * What an encoding sink's `write` receives: its encoder (which took every event of the batch, in
 * order) and the dead letters. `events` is empty unless another sink of the pipeline needed them.
 */
export interface EncodedSinkBatch extends SinkBatch {
  readonly encoded: SinkEncoder;
  /** Events in the batch (what `encoded` took). */
  readonly eventCount: number;
}

/** True when `batch` carries an encoder (see `EncodingSink`). */
export function isEncodedBatch(batch: SinkBatch): batch is EncodedSinkBatch {
  return (batch as Partial<EncodedSinkBatch>).encoded !== undefined;
}

export function encoderOf(sink: Sink): SinkEncoder | undefined {
  const encoding = sink as Partial<EncodingSink>;
  return typeof encoding.encoder === 'function' ? encoding.encoder() : undefined;
}
