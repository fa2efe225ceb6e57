import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { Source } from '../../../src/runtime/contracts.js';
import { createSyslogSource } from '../../../src/sources/syslog/index.js';
import { syslogSourceSchema, type SyslogSourceInput } from '../../../src/sources/syslog/settings.js';
import { octet, recordingContext, sleep, waitFor, type RecordingContext } from './support.js';

const fixture = (file: string): string => fileURLToPath(new URL(`../../fixtures/tls/${file}`, import.meta.url));
const CA = readFileSync(fixture('ca.crt'));
const CLIENT_CERT = readFileSync(fixture('client.crt'));
const CLIENT_KEY = readFileSync(fixture('client.key'));

const LINE_1 = '<189>date=2024-01-01 time=10:00:00 devname="fw1" logid="0102043008" user="bob" status="success"';

const started: Source[] = [];
const clients: TLSSocket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function startTls(
  tls: Partial<NonNullable<SyslogSourceInput['tls']>> = {},
  overrides: Partial<SyslogSourceInput> = {},
): Promise<{ source: Source; rec: RecordingContext; port: number }> {
  const settings = syslogSourceSchema.parse({
    type: 'syslog',
    mode: 'tls',
    address: '127.0.0.1:0',
    tls: { cert_file: fixture('server.crt'), key_file: fixture('server.key'), ...tls },
    ...overrides,
  });
  const rec = recordingContext('tls_in', 'syslog_tls');
  const source = createSyslogSource('tls_in', settings, rec.ctx);
  await source.start();
  started.push(source);
  const port = source.address()?.port;
  if (!port) throw new Error('no port');
  return { source, rec, port };
}

/** Connects; resolves 'secure' on a completed handshake or the error code/message. */
function tlsClient(port: number, options: ConnectionOptions = {}): { socket: TLSSocket; outcome: Promise<string> } {
  const socket = connect({ host: '127.0.0.1', port, ca: CA, servername: 'localhost', ...options });
  clients.push(socket);
  const outcome = new Promise<string>((resolve) => {
    socket.once('secureConnect', () => resolve('secure'));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  socket.on('error', () => undefined);
  return { socket, outcome };
}

describe('syslog source over TLS', () => {
  it('receives octet-counted frames over TLS and logs mode tls', async () => {
    const { rec, port } = await startTls();
    const { socket, outcome } = tlsClient(port);
    expect(await outcome).toBe('secure');
    const localPort = socket.localPort;
    socket.write(octet(LINE_1) + octet('second'));
    socket.end(octet('third'));
    await waitFor(() => rec.frames.length >= 3, 'three frames');
    expect(rec.data()).toEqual([LINE_1, 'second', 'third']);
    expect(rec.frames[0]).toMatchObject({ source: 'tls_in', peer: `127.0.0.1:${localPort}`, truncated: false });
    expect(rec.logs.filter((l) => l.msg === 'listening')).toEqual([
      expect.objectContaining({ source: 'tls_in', mode: 'tls', address: `127.0.0.1:${port}` }),
    ]);
  });

  it('verify_client: a client with a certificate from the CA is accepted', async () => {
    const { rec, port } = await startTls({ verify_client: true, ca_file: fixture('ca.crt') });
    const { socket, outcome } = tlsClient(port, { cert: CLIENT_CERT, key: CLIENT_KEY });
    expect(await outcome).toBe('secure');
    socket.write(`${LINE_1}\n`);
    await waitFor(() => rec.frames.length >= 1, 'a frame');
    expect(rec.data()).toEqual([LINE_1]);
    expect(await rec.counter('errors', 'tls_handshake')).toBe(0);
  });

  it('verify_client: a client without a certificate is refused, nothing emitted', async () => {
    const { rec, port } = await startTls({ verify_client: true, ca_file: fixture('ca.crt') });
    const { socket } = tlsClient(port);
    socket.on('secureConnect', () => socket.write(`${LINE_1}\n`));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await waitFor(async () => (await rec.counter('errors', 'tls_handshake')) === 1, 'the handshake failure count');
    await sleep(30);
    expect(rec.frames).toEqual([]);
  });

  it('min_version TLSv1.3 refuses a TLSv1.2-only client', async () => {
    const { rec, port } = await startTls({ min_version: 'TLSv1.3' });
    const { outcome } = tlsClient(port, { maxVersion: 'TLSv1.2' });
    expect(await outcome).not.toBe('secure');
    await waitFor(async () => (await rec.counter('errors', 'tls_handshake')) === 1, 'the handshake failure count');
    expect(rec.frames).toEqual([]);
    const modern = tlsClient(port, { minVersion: 'TLSv1.3' });
    expect(await modern.outcome).toBe('secure');
    expect(modern.socket.getProtocol()).toBe('TLSv1.3');
  });

  it('default min_version TLSv1.2 accepts a TLSv1.2 client', async () => {
    const { rec, port } = await startTls();
    const { socket, outcome } = tlsClient(port, { maxVersion: 'TLSv1.2' });
    expect(await outcome).toBe('secure');
    expect(socket.getProtocol()).toBe('TLSv1.2');
    socket.write('over 1.2\n');
    await waitFor(() => rec.frames.length >= 1, 'a frame');
    expect(rec.data()).toEqual(['over 1.2']);
  });

  it('allow_from is checked before the TLS handshake', async () => {
    const { rec, port } = await startTls({}, { allow_from: ['10.0.0.0/8'] });
    const { outcome } = tlsClient(port);
    expect(await outcome).not.toBe('secure');
    await waitFor(async () => (await rec.counter('dropped', 'not_allowed')) === 1, 'the refusal count');
    await sleep(30);
    expect(rec.frames).toEqual([]);
    expect(await rec.counter('errors', 'tls_handshake')).toBe(0);
  });

  it('a plain-TCP client talking to the TLS port is a handshake failure, not a crash', async () => {
    const { rec, port } = await startTls();
    const { connect: tcpConnect } = await import('node:net');
    const plain = tcpConnect({ host: '127.0.0.1', port });
    plain.on('error', () => undefined);
    plain.on('connect', () => plain.write(`${LINE_1}\n`));
    await waitFor(async () => (await rec.counter('errors', 'tls_handshake')) === 1, 'the handshake failure count');
    plain.destroy();
    expect(rec.frames).toEqual([]);
  });

  it('pause/resume and stop() flush work over TLS', async () => {
    const { source, rec, port } = await startTls();
    const { socket, outcome } = tlsClient(port);
    expect(await outcome).toBe('secure');
    socket.write(`${octet('first')}`);
    await waitFor(() => rec.frames.length >= 1, 'first frame');
    source.pause();
    socket.write(`${octet('while paused')}12 cut`);
    await sleep(150);
    expect(rec.data()).toEqual(['first']);
    source.resume();
    await waitFor(() => rec.frames.length >= 2, 'the paused frame');
    await source.stop();
    expect(rec.data()).toEqual(['first', 'while paused']);
    expect(rec.dead.map((d) => [d.code, d.raw.toString()])).toEqual([['frame_truncated_by_peer', 'cut']]);
  });

  it('max_connections counts live TLS connections: closed ones free their slot', async () => {
    const { rec, port } = await startTls({}, { max_connections: 2 });
    for (let i = 0; i < 5; i++) {
      const { socket, outcome } = tlsClient(port);
      expect(await outcome).toBe('secure');
      socket.end(`${octet(`conn ${i}`)}`);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await waitFor(() => rec.frames.length === i + 1, `frame ${i}`);
    }
    const first = tlsClient(port);
    const second = tlsClient(port);
    expect(await first.outcome).toBe('secure');
    expect(await second.outcome).toBe('secure');
    const third = tlsClient(port);
    expect(await third.outcome).not.toBe('secure');
    await waitFor(async () => (await rec.counter('dropped', 'max_connections')) === 1, 'the refusal count');
    expect(rec.data()).toEqual(['conn 0', 'conn 1', 'conn 2', 'conn 3', 'conn 4']);
  });

  it('start() names an unreadable certificate file', async () => {
    const settings = syslogSourceSchema.parse({
      type: 'syslog',
      mode: 'tls',
      address: '127.0.0.1:0',
      tls: { cert_file: '/nonexistent/server.crt', key_file: fixture('server.key') },
    });
    const source = createSyslogSource('bad_tls', settings, recordingContext('bad_tls').ctx);
    await expect(source.start()).rejects.toThrow(/tls\.cert_file "\/nonexistent\/server\.crt"/);
  });
});
