import type { DeadReasonCode } from '../../../parse/event.js';
import { FrameBuffer } from './frame-buffer.js';
import { Framing, State } from './states.js';

/**
 * Syslog framing for byte streams (RFC 6587); datagrams are split by datagram.ts.
 *
 * Stream framing is decided per connection by its first frame: `NONZERO-DIGIT *DIGIT SP` (at most
 * 9 digits) means octet counting (`MSG-LEN SP SYSLOG-MSG`, what FortiGate `mode reliable` sends),
 * anything else means LF-terminated ("non-transparent") framing. The decision then holds for the
 * connection. In octet mode a bad prefix is dead-lettered with the bytes up to the next LF and the
 * framer resynchronises after that LF, still in octet mode.
 *
 * Memory per connection stays within ~max_frame_bytes: an oversized frame is cut at
 * max_frame_bytes (emitted as truncated, or dead-lettered) and the rest is skipped as it arrives,
 * never buffered. Frames that lie inside one chunk are zero-copy views of that chunk.
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_1 = 0x31;
const DIGIT_9 = 0x39;
/** RFC 6587 gives no limit; nine digits (< 1 GB) is far above any sane max_frame_bytes. */
const MAX_PREFIX_DIGITS = 9;

/** Incremental framer for one TCP/TLS connection. */
export class StreamFramer extends FrameBuffer {
  private ended = false;

  private prefixValue = 0;
  private prefixDigits = 0;

  /** The framing this connection uses, once known. */
  get mode(): 'detect' | 'octet' | 'lf' {
    return this.framing === Framing.Octet ? 'octet' : this.framing === Framing.Lines ? 'lf' : 'detect';
  }

  /** True while a frame has started but is not complete (what `frame_timeout_seconds` measures). */
  get midFrame(): boolean {
    if (this.ended) return false;
    if (this.state === State.Start) return false;
    if (this.state === State.Line) return this.piecesLength > 0;
    return true;
  }

  /**
   * Gives up on the connection (e.g. a frame took too long): the frame in progress is dead-lettered
   * with `code` instead of being emitted, and the framer ignores further input. The rest of an
   * oversized frame whose head was already handed on is simply dropped.
   */
  abort(code: DeadReasonCode, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    let raw: Buffer | undefined;
    switch (this.state) {
      case State.Prefix:
        raw = Buffer.from(String(this.prefixValue), 'latin1');
        break;
      case State.OctetBody: {
        // What the peer sent of this frame: its length prefix and the body so far (which may be empty).
        const body = this.body === undefined ? Buffer.alloc(0) : this.body.subarray(0, this.bodyFilled);
        raw = Buffer.concat([Buffer.from(`${this.declaredLength} `, 'latin1'), body]);
        break;
      }
      case State.Line:
      case State.BadPrefix:
        if (this.piecesLength > 0 || this.state === State.BadPrefix) raw = Buffer.concat(this.pieces, this.piecesLength);
        break;
      default:
        break;
    }
    this.state = State.Start;
    this.body = undefined;
    this.pieces = [];
    this.piecesLength = 0;
    if (raw !== undefined) this.handlers.dead(code, reason, raw);
  }

  push(chunk: Buffer): void {
    if (this.ended) return;
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      switch (this.state) {
        case State.Start: {
          const c = chunk[pos] as number;
          if (this.framing === Framing.Lines) {
            this.state = State.Line;
            break;
          }
          if (c === LF || c === CR) {
            pos++;
            break;
          }
          if (c >= DIGIT_1 && c <= DIGIT_9) {
            this.prefixValue = c - DIGIT_0;
            this.prefixDigits = 1;
            this.state = State.Prefix;
            pos++;
            break;
          }
          if (this.framing === Framing.Detect) {
            this.framing = Framing.Lines;
            this.state = State.Line;
            break;
          }
          this.state = State.BadPrefix;
          break;
        }

        case State.Prefix:
          pos = this.readPrefix(chunk, pos);
          break;

        case State.OctetBody: {
          const available = length - pos;
          if (this.bodyFilled === 0 && available >= this.bodyWanted) {
            // Fast path: the whole frame is in this chunk.
            const end = pos + this.bodyWanted;
            this.completeOctetFrame(chunk.subarray(pos, end));
            pos = end;
            break;
          }
          if (this.body === undefined) this.body = Buffer.allocUnsafe(this.bodyWanted);
          const take = Math.min(available, this.bodyWanted - this.bodyFilled);
          chunk.copy(this.body, this.bodyFilled, pos, pos + take);
          this.bodyFilled += take;
          pos += take;
          if (this.bodyFilled === this.bodyWanted) {
            const data = this.body;
            this.body = undefined;
            this.bodyFilled = 0;
            this.completeOctetFrame(data);
          }
          break;
        }

        case State.Skip: {
          const take = Math.min(length - pos, this.skipRemaining);
          this.skipRemaining -= take;
          pos += take;
          if (this.skipRemaining === 0) this.state = State.Start;
          break;
        }

        case State.Line:
          pos = this.readLines(chunk, pos);
          break;

        case State.LineDiscard: {
          const nl = chunk.indexOf(LF, pos);
          if (nl < 0) {
            pos = length;
          } else {
            pos = nl + 1;
            this.state = State.Start;
          }
          break;
        }

        case State.BadPrefix: {
          const nl = chunk.indexOf(LF, pos);
          const segmentEnd = nl < 0 ? length : nl;
          this.collectBounded(chunk.subarray(pos, segmentEnd));
          if (nl < 0) {
            pos = length;
          } else {
            pos = nl + 1;
            this.state = State.Start;
            this.deadBadPrefix();
          }
          break;
        }
      }
    }
  }

  /** The peer closed (or we are stopping): flush what is complete, dead-letter what is not. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    switch (this.state) {
      case State.Prefix:
        if (this.framing === Framing.Detect) {
          // Digits only, then EOF: not a length prefix after all, but an unterminated line.
          this.handlers.frame(Buffer.from(String(this.prefixValue), 'latin1'), false);
        } else {
          this.handlers.dead(
            'frame_truncated_by_peer',
            'connection ended inside an octet-counting length prefix',
            Buffer.from(String(this.prefixValue), 'latin1'),
          );
        }
        break;
      case State.OctetBody: {
        const raw = this.body === undefined ? Buffer.alloc(0) : this.body.subarray(0, this.bodyFilled);
        this.handlers.dead(
          'frame_truncated_by_peer',
          `connection ended after ${this.bodyFilled} of ${this.declaredLength} announced bytes`,
          raw,
        );
        break;
      }
      case State.Line:
        // An unterminated last line is a whole log (what `nc`, loggers and Vector's line codec do).
        if (this.piecesLength > 0) this.finishLine(this.pieces, this.piecesLength);
        break;
      case State.BadPrefix:
        this.deadBadPrefix();
        break;
      default:
        break;
    }
    this.state = State.Start;
    this.body = undefined;
    this.pieces = [];
    this.piecesLength = 0;
  }

  private readPrefix(chunk: Buffer, start: number): number {
    const length = chunk.length;
    let pos = start;
    while (pos < length) {
      const c = chunk[pos] as number;
      if (c >= DIGIT_0 && c <= DIGIT_9) {
        if (this.prefixDigits === MAX_PREFIX_DIGITS) return this.notAPrefix(pos);
        this.prefixValue = this.prefixValue * 10 + (c - DIGIT_0);
        this.prefixDigits++;
        pos++;
        continue;
      }
      if (c === SP) {
        this.framing = Framing.Octet;
        this.beginOctetBody(this.prefixValue);
        return pos + 1;
      }
      return this.notAPrefix(pos);
    }
    return pos;
  }

  /** The digits read so far are not a length prefix; `pos` (not consumed) is the offending byte. */
  private notAPrefix(pos: number): number {
    const digits = Buffer.from(String(this.prefixValue), 'latin1');
    this.pieces = [digits];
    this.piecesLength = digits.length;
    if (this.framing === Framing.Detect) {
      // First frame of the connection: it is a line that happens to start with digits.
      this.framing = Framing.Lines;
      this.state = State.Line;
    } else {
      this.state = State.BadPrefix;
    }
    return pos;
  }

  private readLines(chunk: Buffer, start: number): number {
    const length = chunk.length;
    const max = this.maxFrameBytes;
    let pos = start;
    while (pos < length) {
      const nl = chunk.indexOf(LF, pos);
      if (nl < 0) {
        this.pieces.push(chunk.subarray(pos));
        this.piecesLength += length - pos;
        // One byte of slack for a CR that the LF would strip.
        if (this.piecesLength > max + 1) this.lineTooLong();
        return length;
      }
      if (this.piecesLength > 0) {
        if (nl > pos) {
          this.pieces.push(chunk.subarray(pos, nl));
          this.piecesLength += nl - pos;
        }
        const pieces = this.pieces;
        const total = this.piecesLength;
        this.pieces = [];
        this.piecesLength = 0;
        this.finishLine(pieces, total);
      } else {
        let end = nl;
        if (end > pos && chunk[end - 1] === CR) end--;
        if (end > pos) {
          if (end - pos > max) this.emitOversized(chunk.subarray(pos, pos + max), 'line');
          else this.handlers.frame(chunk.subarray(pos, end), false);
        }
      }
      pos = nl + 1;
    }
    return pos;
  }
}
