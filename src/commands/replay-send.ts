/**
 * `fortistream replay --to URL FILE…`: sends saved logs to a running worker's listener instead of
 * writing them itself (the worker stays the one writer of its streams, and its sources' `allow_from`
 * and limits apply). `tcp://` and `tls://` send RFC 6587 octet-counted frames over one connection,
 * with back-pressure; `udp://` one datagram per log, paced (UDP has no back-pressure: a receiver
 * that cannot keep up drops). Files are framed as in replay.ts (octet counting or LF, detected).
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { FortistreamError, errorMessage } from '../errors.js';
import { createUdpSender } from '../demo/send.js';
import { StreamFramer } from '../sources/syslog/framing.js';

export interface ReplayTarget {
  readonly transport: 'tcp' | 'tls' | 'udp';
  readonly host: string;
  readonly port: number;
}

/** `tcp://HOST:PORT`, `tls://HOST:PORT` or `udp://HOST:PORT` (IPv6 in brackets). */
export function parseReplayTarget(text: string): ReplayTarget {
  const match = /^(tcp|tls|udp):\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !(port >= 1 && port <= 65535)) {
    throw new FortistreamError('FST_ARGUMENT_INVALID', `--to: expected tcp://HOST:PORT, tls://HOST:PORT or udp://HOST:PORT, got ${JSON.stringify(text)}`);
  }
  return { transport: match[1] as ReplayTarget['transport'], host: (match[2] as string).replace(/^\[|\]$/g, ''), port };
}

export interface SendOptions {
  readonly target: ReplayTarget;
  /** TLS: CA file that verifies the worker's certificate (default: the system's), client cert/key. */
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** Largest frame read from a file; longer ones are cut (the worker applies its own limit too). */
  readonly maxFrameBytes: number;
}

export interface SendResult {
  readonly frames: number;
  readonly bytes: number;
  /** Frames the file's own framing could not delimit (not sent). */
  readonly unframed: number;
}

type Writer = { write(frame: Buffer): Promise<void> | undefined; close(): Promise<void> };

async function streamWriter(options: SendOptions): Promise<Writer> {
  const { host, port, transport } = options.target;
  const socket: Socket = await new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(new FortistreamError('FST_SEND_FAILED', `cannot connect to ${transport}://${host}:${port}: ${error.message}`));
    const s =
      transport === 'tls'
        ? tlsConnect(
            {
              host,
              port,
              ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
              ...(options.cert ? { cert: readFileSync(options.cert) } : {}),
              ...(options.key ? { key: readFileSync(options.key) } : {}),
            },
            () => resolve(s),
          )
        : netConnect({ host, port }, () => resolve(s));
    s.once('error', onError);
  });
  let failure: Error | undefined;
  socket.on('error', (error) => {
    failure = error;
  });
  return {
    write(frame) {
      if (failure) throw failure;
      const ok = socket.write(Buffer.concat([Buffer.from(`${frame.length} `, 'latin1'), frame]));
      if (ok) return undefined;
      return new Promise<void>((resolve, reject) => {
        socket.once('drain', resolve);
        socket.once('close', () => reject(failure ?? new Error('connection closed')));
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (failure) {
          reject(failure);
          return;
        }
        socket.end(() => resolve());
      }),
  };
}

function udpWriter(options: SendOptions): Writer {
  const sender = createUdpSender(options.target.host, options.target.port);
  return { write: (frame) => sender.send(frame), close: () => sender.close() };
}

/** Sends every frame of `inputs` (in order) to the target; resolves when the last was handed to the socket. */
export async function sendReplay(inputs: readonly Readable[], options: SendOptions): Promise<SendResult> {
  const writer = options.target.transport === 'udp' ? udpWriter(options) : await streamWriter(options);
  let frames = 0;
  let bytes = 0;
  let unframed = 0;
  try {
    for (const input of inputs) {
      const pending: Buffer[] = [];
      /** Sends the frames the framer delimited so far, waiting whenever the socket says so. */
      const sendPending = async (): Promise<void> => {
        for (const frame of pending.splice(0)) {
          frames += 1;
          bytes += frame.length;
          const wait = writer.write(frame);
          if (wait) await wait;
        }
      };
      const framer = new StreamFramer(
        { maxFrameBytes: options.maxFrameBytes, oversize: 'truncate' },
        {
          frame: (data) => pending.push(Buffer.from(data)),
          dead: () => {
            unframed += 1;
          },
        },
      );
      for await (const chunk of input) {
        framer.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
        await sendPending();
      }
      framer.end();
      await sendPending();
    }
  } catch (error) {
    await writer.close().catch(() => undefined);
    throw new FortistreamError('FST_SEND_FAILED', `sending to ${options.target.transport}://${options.target.host}:${options.target.port} failed after ${frames} frames: ${errorMessage(error)}`);
  }
  await writer.close();
  return { frames, bytes, unframed };
}
