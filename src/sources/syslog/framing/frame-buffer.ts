import type { FramingHandlers, FramingOptions, OversizePolicy } from './options.js';
import { Framing, State } from './states.js';

const LF = 0x0a;
const CR = 0x0d;

/**
 * The frame in progress of one connection: the bytes collected so far (views of chunks where it can)
 * and how a finished frame leaves (a frame, a truncated frame or a dead letter). `StreamFramer` reads
 * the byte stream and drives it.
 */
export abstract class FrameBuffer {
  protected readonly maxFrameBytes: number;
  private readonly oversize: OversizePolicy;
  protected readonly handlers: FramingHandlers;

  protected framing: Framing = Framing.Detect;
  protected state: State = State.Start;

  /** Octet frame: bytes to collect into `body` (min(MSG-LEN, max)), the declared MSG-LEN, and the rest to skip. */
  protected body: Buffer | undefined;
  protected bodyFilled = 0;
  protected bodyWanted = 0;
  protected declaredLength = 0;
  protected skipRemaining = 0;

  /** Line / bad-prefix collection: views of chunks, total length kept below max + 2. */
  protected pieces: Buffer[] = [];
  protected piecesLength = 0;

  constructor(options: FramingOptions, handlers: FramingHandlers) {
    this.maxFrameBytes = options.maxFrameBytes;
    this.oversize = options.oversize;
    this.handlers = handlers;
  }

  /** Bytes the framer holds for the frame in progress (at most ~max_frame_bytes; views of chunks included). */
  get bufferedBytes(): number {
    return this.piecesLength + (this.body === undefined ? 0 : this.body.length);
  }

  protected beginOctetBody(declared: number): void {
    this.declaredLength = declared;
    this.bodyWanted = Math.min(declared, this.maxFrameBytes);
    this.bodyFilled = 0;
    this.body = undefined;
    this.state = State.OctetBody;
  }

  protected completeOctetFrame(data: Buffer): void {
    if (this.declaredLength > this.maxFrameBytes) {
      this.skipRemaining = this.declaredLength - this.maxFrameBytes;
      this.state = State.Skip;
      this.emitOversized(data, `announced length ${this.declaredLength}`);
      return;
    }
    this.state = State.Start;
    // Some senders count a trailing LF (or CRLF) into MSG-LEN; the frame carries no line terminator.
    let end = data.length;
    if (end > 0 && data[end - 1] === LF) end--;
    if (end > 0 && data[end - 1] === CR) end--;
    if (end === 0) return;
    this.handlers.frame(end === data.length ? data : data.subarray(0, end), false);
  }

  /** A line gathered from several chunks (no LF inside). */
  protected finishLine(pieces: Buffer[], total: number): void {
    let length = total;
    const last = pieces[pieces.length - 1];
    if (last !== undefined && last.length > 0 && last[last.length - 1] === CR) length--;
    if (length === 0) return;
    if (length > this.maxFrameBytes) {
      this.emitOversized(Buffer.concat(pieces, this.maxFrameBytes), 'line');
      return;
    }
    // concat with a shorter total length drops the trailing CR without another copy.
    this.handlers.frame(pieces.length === 1 && length === total ? (last as Buffer) : Buffer.concat(pieces, length), false);
  }

  protected lineTooLong(): void {
    const head = Buffer.concat(this.pieces, this.maxFrameBytes);
    this.pieces = [];
    this.piecesLength = 0;
    this.state = State.LineDiscard;
    this.emitOversized(head, 'line');
  }

  protected emitOversized(head: Buffer, what: string): void {
    if (this.oversize === 'truncate') {
      this.handlers.frame(head, true);
    } else {
      this.handlers.dead(
        'frame_too_large',
        `frame (${what}) longer than max_frame_bytes ${this.maxFrameBytes}; first ${this.maxFrameBytes} bytes kept`,
        head,
      );
    }
  }

  /** Keeps at most max_frame_bytes of a malformed frame for its dead letter. */
  protected collectBounded(segment: Buffer): void {
    const room = this.maxFrameBytes - this.piecesLength;
    if (room <= 0 || segment.length === 0) return;
    const kept = segment.length > room ? segment.subarray(0, room) : segment;
    this.pieces.push(kept);
    this.piecesLength += kept.length;
  }

  protected deadBadPrefix(): void {
    let raw = Buffer.concat(this.pieces, this.piecesLength);
    this.pieces = [];
    this.piecesLength = 0;
    if (raw.length > 0 && raw[raw.length - 1] === CR) raw = raw.subarray(0, raw.length - 1);
    this.handlers.dead(
      'bad_length_prefix',
      'octet-counted connection: frame does not start with MSG-LEN SP (1-9 digits, no leading zero)',
      raw,
    );
  }
}
