import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { eventToObject } from '../parse/event.js';
import { parseFrame } from '../parse/index.js';

/**
 * `fortistream parse [FILE|-]`: one JSON object per input line, in order. A line that cannot be parsed
 * prints `{"dead":true,"code":…,"reason":…}` in its place. Lines are read as bytes (any encoding).
 */
export async function parseCommand(file: string, output: Writable = process.stdout): Promise<void> {
  const input: Readable = file === '-' ? process.stdin : createReadStream(file);
  const peer = file === '-' ? 'stdin' : `file:${file}`;
  let carry: Buffer = Buffer.alloc(0);
  let out: string[] = [];
  const emit = (line: Buffer): void => {
    const trimmed = line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
    const result = parseFrame(trimmed, { source: 'parse', peer, receivedAtMs: Date.now() });
    out.push(
      result.ok
        ? JSON.stringify(eventToObject(result.event))
        : JSON.stringify({ dead: true, code: result.code, reason: result.reason }),
    );
  };
  const drain = async (): Promise<void> => {
    if (out.length === 0) return;
    const text = `${out.join('\n')}\n`;
    out = [];
    if (!output.write(text)) await new Promise((resolve) => output.once('drain', resolve));
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let lf = data.indexOf(0x0a, start); lf !== -1; lf = data.indexOf(0x0a, start)) {
      emit(data.subarray(start, lf));
      start = lf + 1;
    }
    carry = Buffer.from(data.subarray(start));
    await drain();
  }
  if (carry.length > 0) emit(carry);
  await drain();
}
