/** The states of the stream framer, shared by its two halves (stream-framer.ts, frame-buffer.ts). */

export const enum Framing {
  Detect,
  Octet,
  Lines,
}

export const enum State {
  /** Between frames. */
  Start,
  /** Reading MSG-LEN digits. */
  Prefix,
  /** Collecting the MSG-LEN bytes of an octet-counted frame (or its first max_frame_bytes). */
  OctetBody,
  /** Dropping the rest of an oversized octet-counted frame. */
  Skip,
  /** Collecting an LF-terminated line. */
  Line,
  /** Dropping the rest of an oversized line, up to its LF. */
  LineDiscard,
  /** Collecting a malformed length prefix (and what follows) up to the next LF. */
  BadPrefix,
}
