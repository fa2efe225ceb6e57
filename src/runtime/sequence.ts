/**
 * Frame sequence numbers: every frame the pipeline takes gets one, strictly increasing, and it
 * decides the frame's stream entry id (`<ms>-<n>`) in every stream it reaches (events, dead
 * letters, profiles) and the batch sequence the state scripts remember. A batch retried after a
 * lost connection, or replayed from the spool after a restart, carries the same numbers, so Redis
 * refuses the entries it already has (an explicit id not above the stream's last one) and the
 * scripts skip what they already applied.
 *
 * A sequence is one safe integer: `ms * SEQ_PER_MS + n`, `ms` the receive time (never going back),
 * `n` < SEQ_PER_MS counting frames received in that millisecond (more than that borrow the next
 * millisecond). One number per frame keeps the hot path to a multiplication and a compare;
 * 1024 per ms keeps it below 2^53 until the year 2248.
 */

export const SEQ_PER_MS = 1024;

/** The stream entry id of a sequence: `<ms>-<n>`. */
export function entryIdOf(seq: number): string {
  const ms = Math.floor(seq / SEQ_PER_MS);
  return `${ms}-${seq - ms * SEQ_PER_MS}`;
}

/**
 * The lowest sequence above a stream entry id (for starting above what a stream holds); ids whose
 * `n` part is SEQ_PER_MS or more (written by another scheme) count as their whole millisecond.
 */
export function sequenceAbove(entryId: string): number {
  const dash = entryId.indexOf('-');
  const ms = Number(dash < 0 ? entryId : entryId.slice(0, dash));
  const n = dash < 0 ? 0 : Number(entryId.slice(dash + 1));
  if (!Number.isSafeInteger(ms) || ms < 0) return 0;
  if (!Number.isSafeInteger(n) || n >= SEQ_PER_MS - 1) return (ms + 1) * SEQ_PER_MS;
  return ms * SEQ_PER_MS + n + 1;
}

/** Hands out strictly increasing sequences from receive times. */
export class FrameSequencer {
  private last = -1;

  /** The next sequence for a frame received at `receivedAtMs`. */
  next(receivedAtMs: number): number {
    let seq = receivedAtMs * SEQ_PER_MS;
    if (!(seq > this.last)) seq = this.last + 1;
    this.last = seq;
    return seq;
  }

  /** Makes every later sequence at least `seq` (a restart: above the streams' and the spool's last). */
  startAtLeast(seq: number): void {
    if (seq - 1 > this.last) this.last = seq - 1;
  }

  /** The last sequence handed out (-1 before the first). */
  get lastSeq(): number {
    return this.last;
  }
}
