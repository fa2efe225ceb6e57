import { createSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export type Framing = 'octet' | 'lf';

/** Frames lines for a stream transport: RFC 6587 octet counting or LF-terminated. */
export function frameLines(lines: readonly Buffer[], framing: Framing): Buffer {
  const parts: Buffer[] = [];
  for (const line of lines) {
    if (framing === 'octet') parts.push(Buffer.from(`${line.length} `, 'latin1'), line);
    else parts.push(line, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** One datagram per `send`, paced a little (1 ms every 200) so a local receiver's buffer is not overrun. */
export interface UdpSender {
  send(datagram: Buffer): Promise<void>;
  close(): Promise<void>;
}

export function createUdpSender(host: string, port: number): UdpSender {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let sent = 0;
  return {
    async send(datagram) {
      await new Promise<void>((resolve, reject) => socket.send(datagram, port, host, (err) => (err ? reject(err) : resolve())));
      sent += 1;
      if (sent % 200 === 0) await new Promise((r) => setTimeout(r, 1));
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Sends each line as one UDP datagram (paced, see createUdpSender). */
export async function sendUdp(host: string, port: number, lines: readonly Buffer[]): Promise<void> {
  const sender = createUdpSender(host, port);
  try {
    for (const line of lines) await sender.send(line);
  } finally {
    await sender.close();
  }
}

/** Sends framed lines over TCP (or TLS when `tls` is given) and closes the connection cleanly. */
export async function sendStream(
  host: string,
  port: number,
  lines: readonly Buffer[],
  framing: Framing,
  tls?: ConnectionOptions,
): Promise<void> {
  const payload = frameLines(lines, framing);
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = tls
      ? tlsConnect({ host, port, ...tls }, () => resolve(s))
      : netConnect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.end(payload, () => resolve());
  });
  await new Promise<void>((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
    socket.resume();
  });
}

/** Splits a file's bytes into lines (LF, optional CR), dropping a final empty line. */
export function splitLines(data: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const lf = data.indexOf(0x0a, start);
    const end = lf === -1 ? data.length : lf;
    let line = data.subarray(start, end);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (lf === -1) {
      if (line.length > 0) lines.push(line);
      break;
    }
    lines.push(line);
    start = lf + 1;
  }
  return lines;
}
