/**
 * The batch pipeline between sources and sinks (see EventPipeline). The parts live in pipeline/:
 * event-pipeline (the class), encoding (the optional sink encoder capability) and batch (the options
 * and the pending batch).
 */

export { EventPipeline } from './pipeline/event-pipeline.js';
export type { EventPipelineOptions } from './pipeline/batch.js';
export { isEncodedBatch, type EncodedSinkBatch, type EncodingSink, type SinkEncoder } from './pipeline/encoding.js';
