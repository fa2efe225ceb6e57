/**
 * Turning untrusted bytes into one safe, printable line (for dead letters, logs, `tail`).
 *
 * Escapes, so the result never contains a line break or a control character and can be reversed:
 * - `\n`, `\r`, `\t` for LF, CR, TAB;
 * - `\\` for a backslash (otherwise a literal `\x41` in the input would read like an escape);
 * - `\xNN` for the other C0 controls (U+0000–U+001F) and DEL (U+007F);
 * - `\uNNNN` for C1 controls (U+0080–U+009F) and the Unicode line/paragraph separators (U+2028, U+2029).
 * Everything else (printable ASCII, other Unicode, U+FFFD from invalid bytes) is kept as is.
 */

const HEX = '0123456789abcdef';

function needsEscape(code: number): boolean {
  return code < 0x20 || code === 0x5c || code === 0x7f || (code >= 0x80 && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

function escapeOne(code: number): string {
  switch (code) {
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x5c:
      return '\\\\';
    default:
      if (code < 0x80) return `\\x${HEX[code >> 4] ?? '0'}${HEX[code & 0xf] ?? '0'}`;
      return `\\u${code.toString(16).padStart(4, '0')}`;
  }
}

/** Escapes control characters (and backslashes) so `text` is one safe line. Returns `text` itself when clean. */
export function escapeControlChars(text: string): string {
  const length = text.length;
  let i = 0;
  // Fast path: most text is clean, so scan first and only build a new string when needed.
  while (i < length && !needsEscape(text.charCodeAt(i))) i += 1;
  if (i === length) return text;
  let out = text.slice(0, i);
  let runStart = i;
  for (; i < length; i += 1) {
    const code = text.charCodeAt(i);
    if (needsEscape(code)) {
      if (runStart < i) out += text.slice(runStart, i);
      out += escapeOne(code);
      runStart = i + 1;
    }
  }
  if (runStart < length) out += text.slice(runStart);
  return out;
}

/** The safe, capped text of a raw line, as a dead-letter entry carries it. */
export interface SafeRawText {
  /** The first `maxBytes` bytes decoded as UTF-8 (invalid bytes → U+FFFD), control characters escaped. */
  readonly text: string;
  /** Length of the original raw bytes. */
  readonly bytes: number;
  /** True when `raw` was longer than `maxBytes`. */
  readonly truncated: boolean;
}

/**
 * Index at which to cut `raw` so that at most `maxBytes` are kept without splitting a UTF-8 sequence
 * (a split sequence would decode to a spurious U+FFFD). Invalid input is cut at `maxBytes` exactly.
 */
function utf8SafeCut(raw: Buffer, maxBytes: number): number {
  if (raw.length <= maxBytes) return raw.length;
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the lead byte of the last sequence.
  let lead = maxBytes;
  while (lead > 0 && maxBytes - lead < 3 && ((raw[lead] ?? 0) & 0xc0) === 0x80) lead -= 1;
  const byte = raw[lead] ?? 0;
  if ((byte & 0xc0) !== 0x80 && byte >= 0xc0 && lead < maxBytes) return lead;
  return maxBytes;
}

/** Decodes and escapes the first `maxBytes` bytes of `raw` into a single safe line. */
export function safeRawText(raw: Buffer, maxBytes: number): SafeRawText {
  const limit = Math.max(0, Math.floor(maxBytes));
  const truncated = raw.length > limit;
  const cut = truncated ? utf8SafeCut(raw, limit) : raw.length;
  return { text: escapeControlChars(raw.toString('utf8', 0, cut)), bytes: raw.length, truncated };
}
