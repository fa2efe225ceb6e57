/**
 * fortistream's library API: what downstream services import. The worker itself is the
 * `fortistream` command (src/cli.ts).
 */
export * from './client/index.js';
export { createSessionReader, type SessionReader, type SessionReadOptions } from './state/session-reader.js';
export type { Session, SessionMethod, TimeoutType } from './state/session-model.js';
export { createCounterStore, type CounterReading, type CounterSpec } from './state/counters.js';
export { parseFrame } from './parse/index.js';
export { eventToObject, getField, type NormalizedEvent, type ParseResult, type FrameOrigin } from './parse/event.js';
