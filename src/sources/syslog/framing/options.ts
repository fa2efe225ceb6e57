/** What a framer is told (limits) and where it hands frames and dead letters. */

import type { DeadReasonCode } from '../../../parse/event.js';

export type OversizePolicy = 'truncate' | 'dead_letter';

export interface FramingOptions {
  readonly maxFrameBytes: number;
  readonly oversize: OversizePolicy;
}

/** Where frames and dead letters go; called synchronously from `push()` / `end()`. */
export interface FramingHandlers {
  frame(data: Buffer, truncated: boolean): void;
  dead(code: DeadReasonCode, reason: string, raw: Buffer): void;
}
