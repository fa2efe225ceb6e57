import type { Source, SourceContext } from '../../runtime/contracts.js';
import type { SyslogSourceSettings } from './settings.js';
import { createStreamSource } from './stream.js';
import { createUdpSource } from './udp.js';

export { syslogSourceSchema, SYSLOG_DEFAULTS, parseListenAddress, type SyslogSourceSettings } from './settings.js';
export { StreamFramer, splitDatagram } from './framing.js';
export { createAllowMatcher, formatPeer, normalizePeerAddress, parseCidr } from './allow-from.js';

/** The syslog source: UDP, or TCP/TLS (one implementation; TLS wraps the same connection handler). */
export function createSyslogSource(name: string, settings: SyslogSourceSettings, ctx: SourceContext): Source {
  return settings.mode === 'udp' ? createUdpSource(name, settings, ctx) : createStreamSource(name, settings, ctx);
}
