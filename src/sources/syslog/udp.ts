import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import type { Source, SourceContext } from '../../runtime/contracts.js';
import { createAllowMatcher, formatPeer } from './allow-from.js';
import { splitDatagram, type FramingHandlers, type FramingOptions } from './framing.js';
import { RefusalWarnings } from './refusals.js';
import { SYSLOG_DEFAULTS, formatListenAddress, parseListenAddress, type SyslogSourceSettings } from './settings.js';

async function udpFamily(host: string): Promise<'udp4' | 'udp6'> {
  if (isIPv4(host)) return 'udp4';
  if (isIPv6(host)) return 'udp6';
  const resolved = await lookup(host);
  return resolved.family === 6 ? 'udp6' : 'udp4';
}

/**
 * Syslog over UDP: one datagram is one log (several LF-separated logs are split).
 *
 * UDP cannot push back on the sender, so `pause()` does nothing here: datagrams keep being
 * emitted and the runtime, which knows how full it is, decides to drop (and count) them.
 * The receive buffer is enlarged so bursts survive short stalls of the event loop.
 */
export function createUdpSource(name: string, settings: SyslogSourceSettings, ctx: SourceContext): Source {
  const listen = parseListenAddress(settings.address);
  if (typeof listen === 'string') throw new Error(`source ${name}: address ${listen}`);
  const allow = createAllowMatcher(settings.allow_from);
  const refusals = new RefusalWarnings(ctx.logger, name);
  const metrics = ctx.metrics;
  const framingOptions: FramingOptions = { maxFrameBytes: settings.max_frame_bytes, oversize: settings.oversize };

  let socket: Socket | undefined;
  let bound: { host: string; port: number } | undefined;

  // Set per datagram before splitting; the handlers read them (no closure per datagram).
  let peer = '';
  let receivedAtMs = 0;
  const handlers: FramingHandlers = {
    frame(data, truncated) {
      metrics.receivedEvents();
      ctx.emit({ data, source: name, peer, receivedAtMs, truncated });
    },
    dead(code, reason, raw) {
      metrics.dropped(code);
      ctx.dead({ code, reason, stage: 'framing', raw, source: name, peer, receivedAtMs });
    },
  };

  const onMessage = (datagram: Buffer, remote: RemoteInfo): void => {
    if (!allow.allows(remote.address)) {
      metrics.dropped('not_allowed');
      refusals.note('not_allowed', remote.address);
      return;
    }
    metrics.receivedBytes(datagram.length);
    peer = formatPeer(remote.address, remote.port);
    receivedAtMs = Date.now();
    try {
      splitDatagram(datagram, framingOptions, handlers);
    } catch (error: unknown) {
      // emit() must not throw; if it does, one datagram is lost, the listener is not.
      metrics.error('emit');
      ctx.logger.error({ source: name, err: error }, 'emitting a frame failed');
    }
  };

  return {
    name,

    async start() {
      if (socket) throw new Error(`source ${name} already started`);
      const type = await udpFamily(listen.host);
      const udp = createSocket({ type });
      socket = udp;
      await new Promise<void>((resolve, reject) => {
        const onStartError = (error: Error): void => {
          socket = undefined;
          udp.close();
          reject(new Error(`source ${name}: cannot listen on udp ${settings.address}: ${error.message}`));
        };
        udp.once('error', onStartError);
        udp.bind({ port: listen.port, address: listen.host }, () => {
          udp.off('error', onStartError);
          resolve();
        });
      });
      udp.on('error', (error) => {
        metrics.error('socket');
        ctx.logger.warn({ source: name, err: error }, 'udp socket error');
      });
      udp.on('message', onMessage);

      const requested = settings.receive_buffer_bytes ?? SYSLOG_DEFAULTS.receive_buffer_bytes;
      let granted: number | undefined;
      try {
        udp.setRecvBufferSize(requested);
        // Linux reports twice what it reserves for payload and silently caps at net.core.rmem_max.
        granted = udp.getRecvBufferSize();
      } catch (error: unknown) {
        ctx.logger.warn({ source: name, err: error, requested }, 'could not set the UDP receive buffer size');
      }

      const info = udp.address();
      bound = { host: info.address, port: info.port };
      const address = formatListenAddress(info.address, info.port);
      ctx.logger.info(
        { source: name, mode: 'udp', address, receive_buffer_bytes: requested, receive_buffer_granted_bytes: granted },
        'listening',
      );
      if (granted !== undefined && granted < requested) {
        ctx.logger.warn(
          { source: name, requested, granted },
          'the kernel granted a smaller UDP receive buffer than requested (raise net.core.rmem_max); bursts may be lost',
        );
      }
    },

    async stop() {
      const udp = socket;
      if (!udp) return;
      socket = undefined;
      bound = undefined;
      // Datagrams are framed synchronously on arrival: nothing is buffered, closing is enough.
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },

    pause() {
      // UDP has no back-pressure: the runtime drops (and counts) what it cannot take.
    },

    resume() {},

    address() {
      return bound;
    },
  };
}
