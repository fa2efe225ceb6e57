import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Source } from '../../../src/runtime/contracts.js';
import { createSyslogSource } from '../../../src/sources/syslog/index.js';
import { syslogSourceSchema, type SyslogSourceInput } from '../../../src/sources/syslog/settings.js';
import { octet, recordingContext, sleep, waitFor, type RecordingContext } from './support.js';

const LINE_1 = '<189>date=2024-01-01 time=10:00:00 devname="fw1" logid="0100032001" user="admin" status="success"';
const LINE_2 = '<189>date=2024-01-01 time=10:00:01 devname="fw1" logid="0100032002" user="eve" status="failed"';

const started: Source[] = [];
const clients: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function startTcp(overrides: Partial<SyslogSourceInput> = {}, name = 'tcp_in'): Promise<{ source: Source; rec: RecordingContext; port: number }> {
  const settings = syslogSourceSchema.parse({ type: 'syslog', mode: 'tcp', address: '127.0.0.1:0', ...overrides });
  const rec = recordingContext(name, 'syslog_tcp');
  const source = createSyslogSource(name, settings, rec.ctx);
  await source.start();
  started.push(source);
  const bound = source.address();
  if (!bound) throw new Error('no address after start');
  return { source, rec, port: bound.port };
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

function closedBy(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

describe('syslog source over TCP', () => {
  it('logs one listening line and resolves port 0', async () => {
    const { source, rec, port } = await startTcp();
    expect(port).toBeGreaterThan(0);
    expect(source.address()).toEqual({ host: '127.0.0.1', port });
    const listening = rec.logs.filter((l) => l.msg === 'listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ source: 'tcp_in', mode: 'tcp', address: `127.0.0.1:${port}` });
  });

  it('octet counting: frames split across writes arrive exactly, with peer and source', async () => {
    const { rec, port } = await startTcp();
    const socket = await client(port);
    const wire = octet(LINE_1) + octet(LINE_2) + octet('third\nwith LF inside');
    for (let i = 0; i < wire.length; i += 7) {
      socket.write(wire.slice(i, i + 7));
      if (i % 35 === 0) await sleep(1);
    }
    await waitFor(() => rec.frames.length >= 3, 'three frames');
    expect(rec.data()).toEqual([LINE_1, LINE_2, 'third\nwith LF inside']);
    const peer = `127.0.0.1:${socket.localPort}`;
    for (const frame of rec.frames) {
      expect(frame).toMatchObject({ source: 'tcp_in', peer, truncated: false });
      expect(typeof frame.receivedAtMs).toBe('number');
    }
    expect(await rec.counter('received_events')).toBe(3);
    expect(await rec.counter('received_bytes')).toBe(Buffer.byteLength(wire));
  });

  it('LF framing with CRLF and empty lines', async () => {
    const { rec, port } = await startTcp();
    const socket = await client(port);
    socket.write(`${LINE_1}\r\n\n${LINE_2.slice(0, 20)}`);
    await sleep(20);
    socket.end(`${LINE_2.slice(20)}\nlast line without LF`);
    await waitFor(() => rec.frames.length >= 3, 'three frames');
    expect(rec.data()).toEqual([LINE_1, LINE_2, 'last line without LF']);
    expect(rec.dead).toEqual([]);
  });

  it('a bad length prefix is dead-lettered and the connection resynchronises', async () => {
    const { rec, port } = await startTcp();
    const socket = await client(port);
    socket.write(`${octet('one')}x12 junk\n${octet('two')}`);
    await waitFor(() => rec.frames.length >= 2, 'two frames');
    expect(rec.data()).toEqual(['one', 'two']);
    expect(rec.dead.map((d) => [d.code, d.stage, d.raw.toString(), d.peer])).toEqual([
      ['bad_length_prefix', 'framing', 'x12 junk', `127.0.0.1:${socket.localPort}`],
    ]);
    expect(await rec.counter('dropped', 'bad_length_prefix')).toBe(1);
  });

  it('oversize truncate keeps the connection usable', async () => {
    const { rec, port } = await startTcp({ max_frame_bytes: 16 });
    const socket = await client(port);
    socket.write(octet('A'.repeat(10_000)));
    socket.write(octet('next frame'));
    await waitFor(() => rec.frames.length >= 2, 'two frames');
    expect(rec.frames.map((f) => [f.data.toString(), f.truncated])).toEqual([
      ['A'.repeat(16), true],
      ['next frame', false],
    ]);
  });

  it('oversize dead_letter over LF framing keeps the connection usable', async () => {
    const { rec, port } = await startTcp({ max_frame_bytes: 16, oversize: 'dead_letter' });
    const socket = await client(port);
    socket.write(`<1>${'A'.repeat(100_000)}`);
    await sleep(20);
    socket.write(`${'A'.repeat(1000)}\nafter\n`);
    await waitFor(() => rec.frames.length >= 1, 'the next frame');
    expect(rec.data()).toEqual(['after']);
    expect(rec.dead.map((d) => [d.code, d.raw.toString()])).toEqual([['frame_too_large', `<1>${'A'.repeat(13)}`]]);
    expect(await rec.counter('dropped', 'frame_too_large')).toBe(1);
  });

  it('allow_from: a connection from outside the list is refused and counted, nothing emitted', async () => {
    const { rec, port } = await startTcp({ allow_from: ['10.0.0.0/8', '2001:db8::/32'] });
    const socket = connect({ host: '127.0.0.1', port });
    clients.push(socket);
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(`${LINE_1}\n`));
    await closedBy(socket);
    await sleep(50);
    expect(rec.frames).toEqual([]);
    expect(await rec.counter('dropped', 'not_allowed')).toBe(1);
    expect(await rec.counter('received_bytes')).toBe(0);
    expect(rec.logs.filter((l) => l.level === 40 && l.reason === 'not_allowed')).toHaveLength(1);
  });

  it('allow_from: a listed sender (127.0.0.0/8) is accepted', async () => {
    const { rec, port } = await startTcp({ allow_from: ['10.0.0.0/8', '127.0.0.0/8'] });
    const socket = await client(port);
    socket.write(`${LINE_1}\n`);
    await waitFor(() => rec.frames.length >= 1, 'a frame');
    expect(rec.data()).toEqual([LINE_1]);
    expect(await rec.counter('dropped', 'not_allowed')).toBe(0);
  });

  it('max_connections: the connection over the limit is closed and counted; the first keeps working', async () => {
    const { rec, port } = await startTcp({ max_connections: 1 });
    const first = await client(port);
    first.write(`${octet('from first')}`);
    await waitFor(() => rec.frames.length >= 1, 'first frame');
    const second = connect({ host: '127.0.0.1', port });
    clients.push(second);
    second.on('error', () => undefined);
    second.on('connect', () => second.write(`${octet('from second')}`));
    await closedBy(second);
    first.write(`${octet('first again')}`);
    await waitFor(() => rec.frames.length >= 2, 'second frame');
    await sleep(30);
    expect(rec.data()).toEqual(['from first', 'first again']);
    expect(await rec.counter('dropped', 'max_connections')).toBe(1);
  });

  it('idle_timeout_seconds closes a silent connection and flushes its partial frame', async () => {
    const { rec, port } = await startTcp({ idle_timeout_seconds: 1 });
    const socket = await client(port);
    socket.write('20 partial');
    const started = Date.now();
    await closedBy(socket);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await rec.counter('dropped', 'idle_timeout')).toBe(1);
    await waitFor(() => rec.dead.length >= 1, 'the dead letter');
    expect(rec.dead.map((d) => [d.code, d.raw.toString()])).toEqual([['frame_truncated_by_peer', 'partial']]);
  });

  it('pause() stops reading until resume(), for existing and new connections', async () => {
    const { source, rec, port } = await startTcp();
    const socket = await client(port);
    socket.write(`${LINE_1}\n`);
    await waitFor(() => rec.frames.length >= 1, 'the first frame');
    source.pause();
    socket.write('while paused 1\n');
    const late = await client(port);
    late.write('while paused 2\n');
    await sleep(200);
    expect(rec.data()).toEqual([LINE_1]);
    expect(await rec.counter('received_bytes')).toBe(LINE_1.length + 1);
    source.resume();
    await waitFor(() => rec.frames.length >= 3, 'the frames written while paused');
    expect(rec.data().slice(1).sort()).toEqual(['while paused 1', 'while paused 2']);
  });

  it('pause() applies back-pressure: the sender stalls once the kernel buffers are full', async () => {
    const { source, rec, port } = await startTcp();
    const socket = await client(port);
    source.pause();
    const line = `${'x'.repeat(1023)}\n`;
    const block = Buffer.from(line.repeat(64));
    const cap = 256 * 1024 * 1024;
    let written = 0;
    while (written < cap) {
      written += block.length;
      if (socket.write(block)) continue;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => socket.once('drain', () => resolve(true))),
        sleep(300).then(() => false),
      ]);
      if (!drained) break;
    }
    // Without back-pressure the writes would keep draining up to the cap.
    expect(written).toBeLessThan(cap);
    expect(rec.frames).toEqual([]);
    source.resume();
    await waitFor(() => rec.frames.length === written / line.length, 'all written lines', 20_000);
    expect(new Set(rec.data())).toEqual(new Set(['x'.repeat(1023)]));
  });

  it('stop() flushes: a complete frame in the buffer is emitted, an incomplete one dead-lettered', async () => {
    const { source, rec, port } = await startTcp();
    const octetClient = await client(port);
    const lineClient = await client(port);
    octetClient.write(`${octet('complete')}30 incomplete`);
    lineClient.write('unterminated line');
    await waitFor(() => rec.frames.length >= 1, 'the complete frame');
    await sleep(30);
    await source.stop();
    expect(rec.data().sort()).toEqual(['complete', 'unterminated line']);
    expect(rec.dead.map((d) => [d.code, d.raw.toString()])).toEqual([['frame_truncated_by_peer', 'incomplete']]);
    expect(octetClient.destroyed || octetClient.readableEnded).toBe(true);
    const refused = connect({ host: '127.0.0.1', port });
    const outcome = await new Promise<string>((resolve) => {
      refused.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      refused.once('connect', () => resolve('connected'));
    });
    refused.destroy();
    expect(outcome).toBe('ECONNREFUSED');
  });

  it('stop() destroys a peer that does not close after the grace period', async () => {
    const { source, rec, port } = await startTcp();
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    clients.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('hello\n');
    await waitFor(() => rec.frames.length >= 1, 'a frame');
    const begun = Date.now();
    await source.stop();
    expect(Date.now() - begun).toBeGreaterThanOrEqual(1_500);
    expect(rec.data()).toEqual(['hello']);
  });

  it('a peer reset does not crash the source; it keeps accepting', async () => {
    const { rec, port } = await startTcp();
    const socket = await client(port);
    socket.write('5 abc');
    await sleep(20);
    socket.resetAndDestroy();
    await sleep(50);
    const next = await client(port);
    next.write(`${octet('still alive')}`);
    await waitFor(() => rec.frames.length >= 1, 'a frame after the reset');
    expect(rec.data()).toEqual(['still alive']);
  });

  it('listens on IPv6 loopback and reports the peer in brackets', async () => {
    const { rec, port } = await startTcp({ address: '[::1]:0' }, 'tcp6_in');
    const socket = connect({ host: '::1', port });
    clients.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`${LINE_1}\n`);
    await waitFor(() => rec.frames.length >= 1, 'a frame');
    expect(rec.frames[0]).toMatchObject({ peer: `[::1]:${socket.localPort}`, source: 'tcp6_in' });
    expect(rec.logs.find((l) => l.msg === 'listening')).toMatchObject({ address: `[::1]:${port}` });
  });
});
