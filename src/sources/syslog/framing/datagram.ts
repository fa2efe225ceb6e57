import type { FramingHandlers, FramingOptions } from './options.js';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits one UDP datagram: one datagram is one log, but FortiGate and relays sometimes pack several
 * LF-separated logs into one. Empty lines are skipped, a trailing CR is stripped, and
 * max_frame_bytes applies to each log.
 */
export function splitDatagram(datagram: Buffer, options: FramingOptions, handlers: FramingHandlers): void {
  const length = datagram.length;
  const max = options.maxFrameBytes;
  let pos = 0;
  while (pos < length) {
    let nl = datagram.indexOf(LF, pos);
    if (nl < 0) nl = length;
    let end = nl;
    if (end > pos && datagram[end - 1] === CR) end--;
    const size = end - pos;
    if (size > max) {
      const head = datagram.subarray(pos, pos + max);
      if (options.oversize === 'truncate') handlers.frame(head, true);
      else {
        handlers.dead(
          'frame_too_large',
          `datagram log of ${size} bytes longer than max_frame_bytes ${max}; first ${max} bytes kept`,
          head,
        );
      }
    } else if (size > 0) {
      handlers.frame(size === length ? datagram : datagram.subarray(pos, end), false);
    }
    pos = nl + 1;
  }
}
