/**
 * Syslog framing for byte streams (RFC 6587: framing/stream-framer.ts, whose header gives the rules)
 * and datagrams (framing/datagram.ts).
 */

export type { FramingHandlers, FramingOptions, OversizePolicy } from './framing/options.js';
export { StreamFramer } from './framing/stream-framer.js';
export { splitDatagram } from './framing/datagram.js';
