import { readFile } from 'node:fs/promises';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Source, SourceContext } from '../../runtime/contracts.js';
import { readSecretFile } from '../../security/file-permissions.js';
import { createAllowMatcher, formatPeer } from './allow-from.js';
import { StreamFramer, type FramingOptions } from './framing.js';
import { RefusalWarnings } from './refusals.js';
import { formatListenAddress, parseListenAddress, type SyslogSourceSettings } from './settings.js';

/** How long `stop()` waits for peers to close after our FIN before destroying their sockets. */
export const STOP_GRACE_MS = 2_000;
/** TCP keep-alive probes find peers that vanished without a FIN. */
const KEEPALIVE_DELAY_MS = 60_000;

interface Connection {
  readonly socket: Socket;
  /** Stops / restarts the frame clock (nothing is read while the source is paused). */
  readonly holdClock: (hold: boolean) => void;
  /** Settles on the socket's 'close', after its framer was flushed. */
  readonly closed: Promise<void>;
}

async function readPem(path: string, what: string, source: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`source ${source}: cannot read tls.${what} "${path}": ${message}`);
  }
}

/** The private key: refused when others can read it (never its content in the message). */
async function readPrivateKey(path: string, source: string): Promise<Buffer> {
  const result = await readSecretFile(path);
  if (!result.ok) throw new Error(`source ${source}: tls.key_file "${path}" ${result.problem.replace('<file>', path)}`);
  return result.data;
}

async function tlsOptions(name: string, settings: SyslogSourceSettings): Promise<TlsOptions> {
  const tls = settings.tls;
  if (!tls?.cert_file || !tls.key_file) throw new Error(`source ${name}: mode tls needs tls.cert_file and tls.key_file`);
  const options: TlsOptions = {
    cert: await readPem(tls.cert_file, 'cert_file', name),
    key: await readPrivateKey(tls.key_file, name),
    minVersion: tls.min_version,
    requestCert: tls.verify_client,
    rejectUnauthorized: tls.verify_client,
  };
  if (tls.ca_file) options.ca = await readPem(tls.ca_file, 'ca_file', name);
  return options;
}

/**
 * Syslog over TCP or TLS (RFC 6587 / RFC 5425): one framer per connection, octet counting or LF
 * detected per connection. TLS is the same handler behind `node:tls`.
 *
 * Connection-level refusals are counted under `dropped` with the reasons `not_allowed` (allow_from;
 * checked on the raw TCP connection, before any TLS handshake), `max_connections` and
 * `idle_timeout` (a connection closed after `idle_timeout_seconds` without data). A connection whose
 * current frame is not complete `frame_timeout_seconds` after its first byte (a slow loris: one byte
 * a second keeps the idle clock fresh) is closed and its partial frame dead-lettered as
 * `frame_timeout` (counted under `dropped` with that reason). Socket errors
 * count as `error('socket')`, failed TLS handshakes as `error('tls_handshake')`.
 */
export function createStreamSource(name: string, settings: SyslogSourceSettings, ctx: SourceContext): Source {
  const mode = settings.mode === 'tls' ? 'tls' : 'tcp';
  const listen = parseListenAddress(settings.address);
  if (typeof listen === 'string') throw new Error(`source ${name}: address ${listen}`);
  const allow = createAllowMatcher(settings.allow_from);
  const refusals = new RefusalWarnings(ctx.logger, name);
  const metrics = ctx.metrics;
  const logger = ctx.logger;
  const framingOptions: FramingOptions = { maxFrameBytes: settings.max_frame_bytes, oversize: settings.oversize };
  const idleMs = settings.idle_timeout_seconds * 1000;
  const frameMs = settings.frame_timeout_seconds * 1000;

  let server: Server | undefined;
  let bound: { host: string; port: number } | undefined;
  let paused = false;
  let stopping: Promise<void> | undefined;
  const connections = new Set<Connection>();
  /** Every accepted TCP socket, including TLS ones still in their handshake (stop() destroys them). */
  const rawSockets = new Set<Socket>();
  /** TCP: read the socket; TLS: give it to the TLS server for the handshake. */
  let handOver: (socket: Socket) => void = () => undefined;

  const onRawConnection = (socket: Socket): void => {
    const address = socket.remoteAddress ?? '';
    if (stopping || !allow.allows(address)) {
      if (!stopping) {
        metrics.dropped('not_allowed');
        refusals.note('not_allowed', address);
      }
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    rawSockets.add(socket);
    socket.once('close', () => rawSockets.delete(socket));
    // TLS: errors surface on the TLSSocket; this listener only makes sure nothing is unhandled.
    if (mode === 'tls') socket.on('error', () => undefined);
    handOver(socket);
  };

  const attach = (socket: Socket): void => {
    const peer = formatPeer(socket.remoteAddress, socket.remotePort);
    let receivedAtMs = Date.now();
    // Frames are counted per chunk, not per frame (a prom-client `inc` per frame shows in profiles).
    let unreported = 0;
    /** Frames and dead letters so far: tells the frame clock that a new frame began. */
    let completed = 0;
    const report = (): void => {
      if (unreported > 0) metrics.receivedEvents(unreported);
      unreported = 0;
    };
    const framer = new StreamFramer(framingOptions, {
      frame(data, truncated) {
        unreported += 1;
        completed += 1;
        ctx.emit({ data, source: name, peer, receivedAtMs, truncated });
      },
      dead(code, reason, raw) {
        completed += 1;
        metrics.dropped(code);
        ctx.dead({ code, reason, stage: 'framing', raw, source: name, peer, receivedAtMs });
      },
    });
    const flush = (): void => {
      try {
        framer.end();
      } catch (error: unknown) {
        metrics.error('emit');
        logger.error({ source: name, peer, err: error }, 'emitting a frame failed');
      } finally {
        report();
      }
    };
    let markClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });

    // Frame clock: runs from the first byte of a frame until the frame is complete.
    let frameTimer: NodeJS.Timeout | undefined;
    let clockHeld = paused;
    const stopFrameClock = (): void => {
      if (frameTimer !== undefined) clearTimeout(frameTimer);
      frameTimer = undefined;
    };
    const onFrameTimeout = (): void => {
      frameTimer = undefined;
      if (socket.destroyed || !framer.midFrame) return;
      logger.debug({ source: name, peer, frame_timeout_seconds: settings.frame_timeout_seconds }, 'closing connection: frame not completed in time');
      try {
        framer.abort('frame_timeout', `frame not completed within frame_timeout_seconds ${settings.frame_timeout_seconds}`);
      } catch (error: unknown) {
        metrics.error('emit');
        logger.error({ source: name, peer, err: error }, 'emitting a frame failed');
      }
      socket.destroy();
    };
    const startFrameClock = (): void => {
      stopFrameClock();
      frameTimer = setTimeout(onFrameTimeout, frameMs);
    };
    const holdClock = (hold: boolean): void => {
      if (frameMs <= 0) return;
      clockHeld = hold;
      if (hold) stopFrameClock();
      else if (framer.midFrame) startFrameClock();
    };

    const connection: Connection = { socket, closed, holdClock };
    connections.add(connection);

    socket.on('data', (chunk: Buffer) => {
      receivedAtMs = Date.now();
      metrics.receivedBytes(chunk.length);
      const before = completed;
      try {
        framer.push(chunk);
      } catch (error: unknown) {
        // emit() must not throw; if it does, the connection goes, the process stays.
        metrics.error('emit');
        logger.error({ source: name, peer, err: error }, 'emitting a frame failed');
        socket.destroy();
      } finally {
        report();
      }
      if (frameMs > 0 && !clockHeld) {
        if (!framer.midFrame) stopFrameClock();
        else if (frameTimer === undefined || completed !== before) startFrameClock();
      }
    });
    socket.on('end', flush);
    socket.on('error', (error: Error) => {
      metrics.error('socket');
      logger.debug({ source: name, peer, err: error.message }, 'connection error');
    });
    socket.on('close', () => {
      stopFrameClock();
      flush();
      connections.delete(connection);
      markClosed();
    });
    if (idleMs > 0) {
      socket.on('timeout', () => {
        metrics.dropped('idle_timeout');
        logger.debug({ source: name, peer, idle_timeout_seconds: settings.idle_timeout_seconds }, 'closing idle connection');
        socket.destroy();
      });
      // While paused nothing is read, so the idle clock only runs when not paused.
      if (!paused) socket.setTimeout(idleMs);
    }
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    if (paused) socket.pause();
  };

  const stopAll = async (activeServer: Server): Promise<void> => {
    const serverClosed = new Promise<void>((resolve) => activeServer.close(() => resolve()));
    for (const { socket } of connections) {
      // Let already-received data flow into the framer, then say goodbye; the peer closes its side.
      if (paused) socket.resume();
      socket.end();
    }
    const grace = setTimeout(() => {
      for (const { socket } of connections) socket.destroy();
      for (const socket of rawSockets) socket.destroy();
    }, STOP_GRACE_MS);
    grace.unref();
    await Promise.all([serverClosed, ...[...connections].map((c) => c.closed)]);
    clearTimeout(grace);
  };

  return {
    name,

    async start() {
      if (server) throw new Error(`source ${name} already started`);
      stopping = undefined;
      if (mode === 'tls') {
        // The TLS server never listens: the plain listener hands it the connections allow_from
        // admitted (documented use of tls.Server's 'connection' event), so refused peers never
        // cost a handshake and never show up as handshake failures.
        const tlsServer = createTlsServer(await tlsOptions(name, settings));
        tlsServer.on('secureConnection', (socket: TLSSocket) => attach(socket));
        tlsServer.on('tlsClientError', (error: Error, socket: TLSSocket) => {
          metrics.error('tls_handshake');
          logger.debug(
            { source: name, peer: formatPeer(socket.remoteAddress, socket.remotePort), err: error.message },
            'TLS handshake failed',
          );
          socket.destroy();
        });
        tlsServer.on('error', (error: Error) => {
          metrics.error('socket');
          logger.warn({ source: name, err: error }, 'TLS server error');
        });
        handOver = (socket) => tlsServer.emit('connection', socket);
      } else {
        handOver = attach;
      }
      const created = createTcpServer();
      created.on('connection', onRawConnection);
      created.maxConnections = settings.max_connections;
      created.on('drop', (info?: { remoteAddress?: string }) => {
        metrics.dropped('max_connections');
        refusals.note('max_connections', info?.remoteAddress ?? 'unknown');
      });
      server = created;

      await new Promise<void>((resolve, reject) => {
        const onStartError = (error: Error): void => {
          server = undefined;
          reject(new Error(`source ${name}: cannot listen on ${mode} ${settings.address}: ${error.message}`));
        };
        created.once('error', onStartError);
        created.listen({ port: listen.port, host: listen.host }, () => {
          created.off('error', onStartError);
          resolve();
        });
      });
      created.on('error', (error: Error) => {
        metrics.error('socket');
        logger.warn({ source: name, err: error }, 'listener error');
      });

      const info = created.address();
      if (info === null || typeof info === 'string') throw new Error(`source ${name}: listener has no TCP address`);
      bound = { host: info.address, port: info.port };
      logger.info({ source: name, mode, address: formatListenAddress(info.address, info.port) }, 'listening');
    },

    stop() {
      const activeServer = server;
      if (!activeServer) return stopping ?? Promise.resolve();
      server = undefined;
      bound = undefined;
      stopping = stopAll(activeServer);
      return stopping;
    },

    pause() {
      if (paused) return;
      paused = true;
      for (const { socket, holdClock } of connections) {
        socket.pause();
        holdClock(true);
        if (idleMs > 0) socket.setTimeout(0);
      }
    },

    resume() {
      if (!paused) return;
      paused = false;
      for (const { socket, holdClock } of connections) {
        socket.resume();
        holdClock(false);
        if (idleMs > 0) socket.setTimeout(idleMs);
      }
    },

    address() {
      return bound;
    },
  };
}
