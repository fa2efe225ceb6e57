/**
 * A minimal streaming RESP2 reply reader: it does not build values, it only finds where each top-level
 * reply ends and hands back the text of top-level error replies. Enough for a writer that pipelines
 * commands and only needs "how many replies arrived, and which ones were errors".
 *
 * Bulk payloads are skipped without copying; lines (`+…`, `-…`, `:…`, `$n`, `*n`) split across chunks
 * are kept in a small carry-over buffer. Nested arrays are only counted.
 */

const CR = 13;
const LF = 10;
const PLUS = 43; // '+'
const MINUS = 45; // '-'
const COLON = 58; // ':'
const DOLLAR = 36; // '$'
const STAR = 42; // '*'

/** Called once per top-level reply: `error` is the text of an error reply (without the `-`), else undefined. */
export type ReplyHandler = (error: string | undefined) => void;

/** Raised (through `feed`) when the bytes are not RESP2: the connection can only be dropped. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

export class RespReplyReader {
  /** Bytes of a line that started in an earlier chunk (no LF yet). */
  private carry: Buffer | undefined;
  /** Bytes of the current bulk string (payload + CRLF) still to skip. */
  private skip = 0;
  /** Items still expected by each open array, innermost last. */
  private readonly open: number[] = [];

  constructor(private readonly onReply: ReplyHandler) {}

  /** Consumes one chunk from the socket; calls the handler for every reply that completes in it. */
  feed(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, end - pos);
        pos += take;
        this.skip -= take;
        if (this.skip === 0) this.valueDone(undefined);
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        const rest = chunk.subarray(pos, end);
        this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
        if (this.carry.length > 65_536) throw new RespProtocolError('reply line longer than 64 KiB');
        return;
      }
      if (this.carry) {
        const line = Buffer.concat([this.carry, chunk.subarray(pos, lf + 1)]);
        this.carry = undefined;
        this.line(line, 0, line.length - 1);
      } else {
        this.line(chunk, pos, lf);
      }
      pos = lf + 1;
    }
  }

  /** Drops any partial state (a new connection starts clean). */
  reset(): void {
    this.carry = undefined;
    this.skip = 0;
    this.open.length = 0;
  }

  /** One header line: `buf[start]` is the type byte, `buf[lf]` the LF ending it. */
  private line(buf: Buffer, start: number, lf: number): void {
    const stop = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    const type = buf[start];
    switch (type) {
      case PLUS:
      case COLON:
        this.valueDone(undefined);
        return;
      case MINUS:
        this.valueDone(buf.toString('utf8', start + 1, stop));
        return;
      case DOLLAR: {
        const length = parseLength(buf, start + 1, stop);
        if (length < 0) this.valueDone(undefined);
        else this.skip = length + 2;
        return;
      }
      case STAR: {
        const count = parseLength(buf, start + 1, stop);
        if (count <= 0) this.valueDone(undefined);
        else this.open.push(count);
        return;
      }
      default:
        throw new RespProtocolError(`unexpected RESP type byte ${String(type)}`);
    }
  }

  /** A value ended: close the arrays it completes; report it when it is a top-level reply. */
  private valueDone(error: string | undefined): void {
    const open = this.open;
    while (open.length > 0) {
      const last = open.length - 1;
      const left = (open[last] as number) - 1;
      if (left > 0) {
        open[last] = left;
        return;
      }
      open.pop();
      // The array itself is now a complete value of its parent; errors inside arrays are not reported.
      error = undefined;
    }
    this.onReply(error);
  }
}

/** Parses the decimal (possibly `-1`) between `from` and `to`; throws on anything else. */
function parseLength(buf: Buffer, from: number, to: number): number {
  if (from >= to) throw new RespProtocolError('empty length in reply');
  let negative = false;
  let i = from;
  if (buf[i] === MINUS) {
    negative = true;
    i += 1;
  }
  let value = 0;
  for (; i < to; i += 1) {
    const digit = (buf[i] as number) - 48;
    if (digit < 0 || digit > 9) throw new RespProtocolError('bad length in reply');
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}
