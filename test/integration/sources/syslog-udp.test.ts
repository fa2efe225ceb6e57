import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Source } from '../../../src/runtime/contracts.js';
import { createSyslogSource } from '../../../src/sources/syslog/index.js';
import { syslogSourceSchema, type SyslogSourceInput } from '../../../src/sources/syslog/settings.js';
import { recordingContext, sleep, waitFor, type RecordingContext } from './support.js';

const LINE_1 = '<189>date=2024-01-01 time=10:00:00 devname="fw1" logid="0000000013" srcip=10.1.1.1 action="deny"';
const LINE_2 = '<189>date=2024-01-01 time=10:00:01 devname="fw1" logid="0000000013" srcip=10.1.1.2 action="accept"';

const started: Source[] = [];
const senders: Socket[] = [];

afterEach(async () => {
  for (const sender of senders.splice(0)) sender.close();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function startUdp(overrides: Partial<SyslogSourceInput> = {}): Promise<{ source: Source; rec: RecordingContext; port: number }> {
  const settings = syslogSourceSchema.parse({ type: 'syslog', mode: 'udp', address: '127.0.0.1:0', ...overrides });
  const rec = recordingContext('udp_in', 'syslog_udp');
  const source = createSyslogSource('udp_in', settings, rec.ctx);
  await source.start();
  started.push(source);
  const port = source.address()?.port;
  if (!port) throw new Error('no port');
  return { source, rec, port };
}

async function sender(type: 'udp4' | 'udp6' = 'udp4'): Promise<Socket> {
  const socket = createSocket(type);
  senders.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => resolve()));
  return socket;
}

function send(socket: Socket, port: number, payload: string | Buffer, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => socket.send(payload, port, host, (error) => (error ? reject(error) : resolve())));
}

describe('syslog source over UDP', () => {
  it('logs one listening line with the receive buffer granted', async () => {
    const { rec, port } = await startUdp({ receive_buffer_bytes: 262_144 });
    const listening = rec.logs.filter((l) => l.msg === 'listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ source: 'udp_in', mode: 'udp', address: `127.0.0.1:${port}`, receive_buffer_bytes: 262_144 });
    expect(typeof listening[0]?.receive_buffer_granted_bytes).toBe('number');
  });

  it('one datagram is one frame, with the peer address', async () => {
    const { rec, port } = await startUdp();
    const socket = await sender();
    await send(socket, port, LINE_1);
    await waitFor(() => rec.frames.length >= 1, 'one frame');
    await sleep(20);
    expect(rec.data()).toEqual([LINE_1]);
    expect(rec.frames[0]).toMatchObject({ source: 'udp_in', peer: `127.0.0.1:${socket.address().port}`, truncated: false });
    expect(await rec.counter('received_bytes')).toBe(LINE_1.length);
    expect(await rec.counter('received_events')).toBe(1);
  });

  it('a datagram with several LF-separated logs gives one frame each, in order', async () => {
    const { rec, port } = await startUdp();
    const socket = await sender();
    await send(socket, port, `${LINE_1}\n${LINE_2}\r\n\nthird\n`);
    await send(socket, port, 'fourth');
    await waitFor(() => rec.frames.length >= 4, 'four frames');
    expect(rec.data()).toEqual([LINE_1, LINE_2, 'third', 'fourth']);
  });

  it('octet-counted-looking datagrams are not unframed (one datagram = one log)', async () => {
    const { rec, port } = await startUdp();
    const socket = await sender();
    await send(socket, port, '5 hello');
    await waitFor(() => rec.frames.length >= 1, 'one frame');
    expect(rec.data()).toEqual(['5 hello']);
  });

  it('oversize: truncate and dead_letter', async () => {
    const truncating = await startUdp({ max_frame_bytes: 10 });
    const socket = await sender();
    await send(socket, truncating.port, '0123456789ABCDEF\nshort');
    await waitFor(() => truncating.rec.frames.length >= 2, 'two frames');
    expect(truncating.rec.frames.map((f) => [f.data.toString(), f.truncated])).toEqual([
      ['0123456789', true],
      ['short', false],
    ]);

    const dead = await startUdp({ max_frame_bytes: 10, oversize: 'dead_letter' });
    await send(socket, dead.port, '0123456789ABCDEF');
    await send(socket, dead.port, 'next');
    await waitFor(() => dead.rec.frames.length >= 1, 'the next frame');
    expect(dead.rec.data()).toEqual(['next']);
    expect(dead.rec.dead.map((d) => [d.code, d.stage, d.raw.toString()])).toEqual([['frame_too_large', 'framing', '0123456789']]);
    expect(await dead.rec.counter('dropped', 'frame_too_large')).toBe(1);
  });

  it('allow_from: datagrams from outside the list are counted and dropped, one warning only', async () => {
    const { rec, port } = await startUdp({ allow_from: ['10.0.0.0/8', '::ffff:192.168.0.0/112'] });
    const socket = await sender();
    for (let i = 0; i < 5; i++) await send(socket, port, `${LINE_1} n=${i}`);
    await waitFor(async () => (await rec.counter('dropped', 'not_allowed')) === 5, 'five refusals');
    await sleep(30);
    expect(rec.frames).toEqual([]);
    expect(await rec.counter('received_bytes')).toBe(0);
    expect(rec.logs.filter((l) => l.reason === 'not_allowed')).toHaveLength(1);
  });

  it('pause() does not stop UDP (no back-pressure possible; the runtime drops)', async () => {
    const { source, rec, port } = await startUdp();
    const socket = await sender();
    source.pause();
    await send(socket, port, LINE_1);
    await waitFor(() => rec.frames.length >= 1, 'a frame while paused');
    source.resume();
    expect(rec.data()).toEqual([LINE_1]);
  });

  it('receives on IPv6 loopback', async () => {
    const { rec, port } = await startUdp({ address: '[::1]:0' });
    const socket = await sender('udp6');
    await send(socket, port, LINE_2, '::1');
    await waitFor(() => rec.frames.length >= 1, 'a frame');
    expect(rec.data()).toEqual([LINE_2]);
    expect(rec.frames[0]?.peer).toBe(`[::1]:${socket.address().port}`);
  });

  it('stop() closes the socket; start() fails clearly on a taken port', async () => {
    const first = await startUdp();
    const settings = syslogSourceSchema.parse({ type: 'syslog', mode: 'udp', address: `127.0.0.1:${first.port}` });
    const second = createSyslogSource('dup', settings, recordingContext('dup').ctx);
    await expect(second.start()).rejects.toThrow(/cannot listen on udp 127\.0\.0\.1:\d+/);
    await first.source.stop();
    expect(first.source.address()).toBeUndefined();
  });
});
