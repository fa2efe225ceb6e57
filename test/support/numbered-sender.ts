/** A FortiGate that keeps sending numbered traffic logs over one TCP connection, for reload tests. */

import { connect, type Socket } from 'node:net';
import { frameLines } from '../../src/demo/send.js';
import { fortigateLine } from './fortigate-lines.js';

/** The stream field that carries the number of a `numberedTraffic` line. */
export const NUMBER_FIELD = 'fortinet.firewall.sessionid';

/** Traffic log number `n`, stamped now (event time drives the counters). */
export function numberedTraffic(n: number, atMs = Date.now()): Buffer {
  return fortigateLine(
    atMs,
    `logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.20.0.1 srcport=40000 dstip=198.51.100.20 dstport=443 proto=6 action="close" policyid=9 sessionid=${n} sentbyte=10 rcvdbyte=20`,
  );
}

export interface NumberedSender {
  /** Lines written so far (1..sent). */
  readonly sent: number;
  /** Stops sending, closes the connection cleanly; resolves the number of lines sent. */
  stop(): Promise<number>;
}

/** Sends `perTick` lines every `tickMs` (octet-counted framing), honouring the socket's back-pressure. */
export async function startNumberedSender(host: string, port: number, options: { perTick?: number; tickMs?: number } = {}): Promise<NumberedSender> {
  const perTick = options.perTick ?? 10;
  const tickMs = options.tickMs ?? 5;
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.resume();
  let sent = 0;
  let stopped = false;
  let waitingForDrain = false;
  const tick = (): void => {
    if (stopped || waitingForDrain) return;
    const lines: Buffer[] = [];
    for (let i = 0; i < perTick; i += 1) lines.push(numberedTraffic(sent + i + 1));
    sent += perTick;
    if (!socket.write(frameLines(lines, 'octet'))) {
      waitingForDrain = true;
      socket.once('drain', () => {
        waitingForDrain = false;
      });
    }
  };
  const timer = setInterval(tick, tickMs);
  return {
    get sent() {
      return sent;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      socket.end();
      await closed;
      return sent;
    },
  };
}

/** The numbers of a stream's numbered entries, in stream order. */
export function numbersOf(entries: readonly [string, string[]][]): number[] {
  const out: number[] = [];
  for (const [, fields] of entries) {
    const at = fields.indexOf(NUMBER_FIELD);
    if (at >= 0 && at % 2 === 0) out.push(Number(fields[at + 1]));
  }
  return out;
}
