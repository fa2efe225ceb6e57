import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Source } from '../../../src/runtime/contracts.js';
import { createSyslogSource } from '../../../src/sources/syslog/index.js';
import { syslogSourceSchema, type SyslogSourceInput } from '../../../src/sources/syslog/settings.js';
import { octet, recordingContext, sleep, waitFor, type RecordingContext } from './support.js';

/*
 * Slow loris against the TCP syslog source (issue 6, item 8): connections that send one byte a second
 * must not exhaust the worker. idle_timeout_seconds alone cannot stop them (every byte restarts the idle
 * clock); frame_timeout_seconds closes a connection whose frame is not complete in time.
 */

const LEGIT = '<189>date=2025-06-01 time=10:00:00 devname="fw1" logid="0100032001" user="admin" status="success"';

const started: Source[] = [];
const clients: Socket[] = [];
const drips: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const drip of drips.splice(0)) clearInterval(drip);
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function startTcp(overrides: Partial<SyslogSourceInput>): Promise<{ rec: RecordingContext; port: number }> {
  const settings = syslogSourceSchema.parse({ type: 'syslog', mode: 'tcp', address: '127.0.0.1:0', ...overrides });
  const rec = recordingContext('tcp_loris', 'syslog_tcp');
  const source = createSyslogSource('tcp_loris', settings, rec.ctx);
  await source.start();
  started.push(source);
  const bound = source.address();
  if (!bound) throw new Error('no address after start');
  return { rec, port: bound.port };
}

async function client(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  clients.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readyState === 'closed') resolve();
    else socket.once('close', () => resolve());
  });
}

/** A slow loris: sends `payload` one byte per `everyMs`, never finishing the frame. */
async function loris(port: number, payload: string, everyMs = 1_000): Promise<{ socket: Socket; payload: string }> {
  const socket = await client(port);
  let i = 0;
  const drip = (): void => {
    if (socket.destroyed || i >= payload.length) return;
    socket.write(payload[i] as string);
    i++;
  };
  drip();
  drips.push(setInterval(drip, everyMs));
  return { socket, payload };
}

describe('slow loris on the TCP source', () => {
  it('idle_timeout_seconds alone does not close a one-byte-a-second connection (why frame_timeout exists)', { timeout: 10_000 }, async () => {
    const { rec, port } = await startTcp({ idle_timeout_seconds: 2, frame_timeout_seconds: 0 });
    const slow = await loris(port, '<13>slow loris never ends this line', 1_000);
    let isClosed = false;
    void closed(slow.socket).then(() => {
      isClosed = true;
    });
    await sleep(3_500);
    expect(isClosed).toBe(false);
    expect(await rec.counter('dropped', 'idle_timeout')).toBe(0);
    expect(rec.frames).toHaveLength(0);
  });

  it(
    'max_connections refuses and counts the excess, frame_timeout closes the lorises, legitimate senders get through',
    { timeout: 15_000 },
    async () => {
      const MAX = 20;
      const { rec, port } = await startTcp({ max_connections: MAX, idle_timeout_seconds: 2, frame_timeout_seconds: 3 });

      // MAX - 1 lorises: half LF-framed (a line that never ends), half octet-counted (a body that never fills).
      const lorises: { socket: Socket; payload: string }[] = [];
      for (let i = 0; i < MAX - 1; i++) {
        lorises.push(await loris(port, i % 2 === 0 ? `<13>loris=${i} never ends` : `500 <13>loris=${i} never fills`));
      }

      // (c) With the lorises held, a legitimate sender on a fresh connection (the last free slot) gets through.
      const legit = await client(port);
      legit.write(octet(LEGIT) + octet(LEGIT.replace('admin', 'bob')));
      await waitFor(() => rec.frames.length === 2, 'legitimate frames while lorises are held', 2_000);
      expect(rec.data()).toEqual([LEGIT, LEGIT.replace('admin', 'bob')]);
      legit.end();
      await closed(legit);
      await sleep(50); // let the server see the close and free the slot

      // The last slot goes to one more loris: the worker now holds MAX slow connections.
      lorises.push(await loris(port, `<13>loris=${MAX - 1} never ends`));

      // (a) Beyond max_connections: closed at once, counted as dropped('max_connections').
      const extra: Socket[] = [];
      for (let i = 0; i < 5; i++) extra.push(await client(port));
      await Promise.all(extra.map(closed));
      await waitFor(async () => (await rec.counter('dropped', 'max_connections')) === 5, 'max_connections drops', 2_000);
      expect(lorises.every((l) => !l.socket.destroyed)).toBe(true);

      // (b) The lorises keep the idle clock fresh, but none completes a frame within frame_timeout_seconds: all closed.
      await Promise.all(lorises.map((l) => closed(l.socket)));
      expect(await rec.counter('dropped', 'idle_timeout')).toBe(0);
      expect(await rec.counter('dropped', 'frame_timeout')).toBe(MAX);
      const timeouts = rec.dead.filter((d) => d.code === 'frame_timeout');
      expect(timeouts).toHaveLength(MAX);
      for (const letter of timeouts) {
        expect(letter).toMatchObject({ stage: 'framing', source: 'tcp_loris' });
        expect(letter.reason).toMatch(/frame_timeout_seconds 3/);
        expect(letter.raw.length).toBeGreaterThan(0);
      }
      // The partial frames were dead-lettered, never emitted as events.
      expect(rec.frames).toHaveLength(2);
      // Each dead letter holds the partial frame the loris had sent so far (the partial line, the digits of an
      // unfinished octet-counting prefix, or the partial body). Exact bytes race the client's drip, so: a prefix.
      const payloads = lorises.map((l) => l.payload);
      for (const letter of timeouts) {
        const raw = letter.raw.toString('latin1');
        expect(payloads.some((p) => p.startsWith(raw) || p.slice(4).startsWith(raw)), raw).toBe(true);
      }

      // Slots are free again: a fresh legitimate sender gets through.
      const after = await client(port);
      after.write(`${LEGIT}\n`);
      await waitFor(() => rec.frames.length === 3, 'frame after the lorises were closed', 2_000);
    },
  );

  it('frame_timeout does not cut a slow but honest sender: the clock restarts with every completed frame', { timeout: 10_000 }, async () => {
    const { rec, port } = await startTcp({ idle_timeout_seconds: 2, frame_timeout_seconds: 2 });
    const socket = await client(port);
    let isClosed = false;
    void closed(socket).then(() => {
      isClosed = true;
    });
    // Each frame takes ~0.6 s to complete; over 3.6 s the connection outlives frame_timeout_seconds.
    for (let i = 0; i < 6; i++) {
      socket.write(`<13>n=${i} `);
      await sleep(300);
      socket.write(`part=two\n<13>n=${i}b `);
      await sleep(300);
      socket.write('end=1\n');
    }
    await waitFor(() => rec.frames.length === 12, 'twelve frames', 2_000);
    expect(isClosed).toBe(false);
    expect(rec.dead).toEqual([]);
    expect(await rec.counter('dropped', 'frame_timeout')).toBe(0);
  });
});
