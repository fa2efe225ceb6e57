import type { Collector } from '../collector.js';
import { envelopeTimeMs, type Envelope } from '../envelope.js';
import {
  SLOT_ACTION,
  SLOT_DATE,
  SLOT_DSTMAC,
  SLOT_DURATION,
  SLOT_EAPUSER,
  SLOT_EVENTTIME,
  SLOT_LOGID,
  SLOT_PROTO,
  SLOT_RCVDBYTE,
  SLOT_RCVDPKT,
  SLOT_RESULT,
  SLOT_SENTBYTE,
  SLOT_SENTPKT,
  SLOT_SRCMAC,
  SLOT_STATUS,
  SLOT_SUBTYPE,
  SLOT_TIME,
  SLOT_TYPE,
  SLOT_TZ,
  SLOT_USER,
  SLOT_XAUTHUSER,
  TRANSPORT_BY_NUMBER,
  targetFor,
} from '../fields.js';
import { parseEventTime } from '../time.js';
import { categoryOf, ecsMac, FACILITY_TEXT, isFailedAction, outcomeOf, PRI_TEXT, SEVERITY_TEXT } from './ecs.js';
import { decimalSum, isDigits } from './numbers.js';
import { iso, isoWithMs, localDateTimeMs } from './timestamps.js';

const T = {
  eventStart: targetFor('event.start'),
  eventKind: targetFor('event.kind'),
  eventOutcome: targetFor('event.outcome'),
  eventCategory: targetFor('event.category'),
  eventAction: targetFor('event.action'),
  eventDuration: targetFor('event.duration'),
  eventIngested: targetFor('event.ingested'),
  ianaNumber: targetFor('network.iana_number'),
  transport: targetFor('network.transport'),
  networkBytes: targetFor('network.bytes'),
  sourceBytes: targetFor('source.bytes'),
  destinationBytes: targetFor('destination.bytes'),
  sourcePackets: targetFor('source.packets'),
  destinationPackets: targetFor('destination.packets'),
  networkPackets: targetFor('network.packets'),
  userName: targetFor('user.name'),
  fwUser: targetFor('fortinet.firewall.user'),
  fwXauthUser: targetFor('fortinet.firewall.xauthuser'),
  fwEapUser: targetFor('fortinet.firewall.eapuser'),
  sourceMac: targetFor('source.mac'),
  destinationMac: targetFor('destination.mac'),
  observerName: targetFor('observer.name'),
  syslogHostname: targetFor('log.syslog.hostname'),
  priority: targetFor('log.syslog.priority'),
  facility: targetFor('log.syslog.facility.code'),
  severity: targetFor('log.syslog.severity.code'),
  source: targetFor('fortistream.source'),
  sourceAddress: targetFor('log.source.address'),
  truncated: targetFor('fortistream.truncated'),
  truncatedFields: targetFor('fortistream.truncated_fields'),
  timeSource: targetFor('fortistream.time_source'),
  vendor: targetFor('observer.vendor'),
  product: targetFor('observer.product'),
  observerType: targetFor('observer.type'),
};

// Last-value cache: consecutive lines share their receive time.
let lastIngestedMs = NaN;
let lastIngested = '';

export interface FinishInput {
  readonly line: string;
  readonly envelope: Envelope;
  readonly source: string;
  readonly peer: string;
  readonly receivedAtMs: number;
  readonly truncated: boolean;
}

/**
 * Derives the normalized fields from the remembered slots and fills `@timestamp`; returns the event time.
 *
 * `@timestamp` precedence (matches Elastic's pipeline, which the corpus conformance test checks):
 * 1. `date` + `time` + `tz` — what Elastic uses; only when `tz` is present and understood;
 * 2. `eventtime` (s/ms/µs/ns, validated) — an absolute epoch, better than a zone-less wall time;
 * 3. `date` + `time` read as UTC (no `tz`);
 * 4. the envelope's timestamp (RFC 5424 / relay ISO / BSD with the receive year);
 * 5. `receivedAtMs`.
 * `event.start` is always `eventtime` when valid (as in Elastic). `fortistream.time_source` says which won.
 */
export function finish(c: Collector, input: FinishInput): number {
  const date = c.get(SLOT_DATE);
  const time = c.get(SLOT_TIME);
  const tz = c.get(SLOT_TZ);
  const eventTimeRaw = c.get(SLOT_EVENTTIME);
  const eventMs = eventTimeRaw === undefined ? NaN : parseEventTime(eventTimeRaw);

  let timeMs = NaN;
  let timeSource = 'date';
  if (date !== undefined && time !== undefined) {
    if (tz !== undefined) timeMs = localDateTimeMs(date, time, tz);
    if (Number.isNaN(timeMs) && Number.isNaN(eventMs)) timeMs = localDateTimeMs(date, time, '');
  }
  if (Number.isNaN(timeMs) && !Number.isNaN(eventMs)) {
    timeMs = eventMs;
    timeSource = 'eventtime';
  }
  if (Number.isNaN(timeMs)) {
    timeMs = envelopeTimeMs(input.line, input.envelope, input.receivedAtMs);
    timeSource = 'header';
  }
  if (Number.isNaN(timeMs)) {
    timeMs = Number.isFinite(input.receivedAtMs) ? input.receivedAtMs : Date.now();
    timeSource = 'received';
  }
  c.out[1] = iso(timeMs);
  if (timeSource !== 'date') c.emitIfAbsent(T.timeSource, timeSource);
  if (!Number.isNaN(eventMs)) c.emitIfAbsent(T.eventStart, isoWithMs(eventMs));

  c.flushFallbacks();

  const type = c.get(SLOT_TYPE);
  const subtype = c.get(SLOT_SUBTYPE);
  let action = c.get(SLOT_ACTION);
  const status = c.get(SLOT_STATUS);

  // Legacy FortiOS 3/4 traffic logs say `status=deny|accept` and no `action`.
  if (action === undefined && status !== undefined && type === 'traffic') {
    action = status;
    c.emitIfAbsent(T.eventAction, status);
  }

  const outcome =
    outcomeOf(status) ??
    outcomeOf(c.get(SLOT_RESULT)) ??
    (action !== undefined && isFailedAction(action) ? 'failure' : undefined) ??
    'unknown';
  c.emitIfAbsent(T.eventOutcome, outcome);
  c.emitIfAbsent(T.eventKind, 'event');
  const category = categoryOf(type, subtype, action);
  if (category !== undefined) c.emitIfAbsent(T.eventCategory, category);

  const proto = c.get(SLOT_PROTO);
  if (proto !== undefined) {
    if (isDigits(proto)) {
      c.emitIfAbsent(T.ianaNumber, proto);
      const transport = TRANSPORT_BY_NUMBER.get(proto);
      if (transport !== undefined) c.emitIfAbsent(T.transport, transport);
    } else {
      c.emitIfAbsent(T.transport, proto.toLowerCase());
    }
  }

  const duration = c.get(SLOT_DURATION);
  if (duration !== undefined && isDigits(duration)) {
    // Elastic stores `event.duration` in nanoseconds; FortiGate's `duration` is seconds.
    c.emitIfAbsent(T.eventDuration, duration === '0' ? '0' : `${duration}000000000`);
  }

  const sent = c.get(SLOT_SENTBYTE);
  const rcvd = c.get(SLOT_RCVDBYTE);
  const sentPkt = c.get(SLOT_SENTPKT);
  const rcvdPkt = c.get(SLOT_RCVDPKT);
  const swap = type === 'event' && subtype === 'vpn';
  if (sent !== undefined) c.emitIfAbsent(swap ? T.destinationBytes : T.sourceBytes, sent);
  if (rcvd !== undefined) c.emitIfAbsent(swap ? T.sourceBytes : T.destinationBytes, rcvd);
  if (sentPkt !== undefined) c.emitIfAbsent(swap ? T.destinationPackets : T.sourcePackets, sentPkt);
  if (rcvdPkt !== undefined) c.emitIfAbsent(swap ? T.sourcePackets : T.destinationPackets, rcvdPkt);
  if (sent !== undefined && rcvd !== undefined) {
    const bytes = decimalSum(sent, rcvd);
    if (bytes !== undefined) c.emitIfAbsent(T.networkBytes, bytes);
  }
  if (sentPkt !== undefined && rcvdPkt !== undefined) {
    const packets = decimalSum(sentPkt, rcvdPkt);
    if (packets !== undefined) c.emitIfAbsent(T.networkPackets, packets);
  }

  const srcMac = c.get(SLOT_SRCMAC);
  if (srcMac !== undefined) c.emitIfAbsent(T.sourceMac, ecsMac(srcMac));
  const dstMac = c.get(SLOT_DSTMAC);
  if (dstMac !== undefined) c.emitIfAbsent(T.destinationMac, ecsMac(dstMac));

  // Identity. In IPsec logs `user` is the peer (IP or certificate name); the person is xauthuser/eapuser.
  const user = c.get(SLOT_USER);
  const xauthUser = c.get(SLOT_XAUTHUSER);
  const eapUser = c.get(SLOT_EAPUSER);
  if (xauthUser !== undefined) c.emitIfAbsent(T.fwXauthUser, xauthUser);
  if (eapUser !== undefined) c.emitIfAbsent(T.fwEapUser, eapUser);
  const logid = c.get(SLOT_LOGID);
  const ipsec =
    (logid !== undefined && logid.startsWith('0101037')) ||
    (subtype === 'vpn' && (xauthUser !== undefined || eapUser !== undefined));
  if (ipsec) {
    const person = xauthUser ?? eapUser;
    if (person !== undefined) c.emitIfAbsent(T.userName, person);
    if (user !== undefined) c.emitIfAbsent(T.fwUser, user);
  } else if (user !== undefined) {
    c.emitIfAbsent(T.userName, user);
  } else {
    const person = xauthUser ?? eapUser;
    if (person !== undefined) c.emitIfAbsent(T.userName, person);
  }

  const env = input.envelope;
  if (env.host !== undefined) {
    c.emitIfAbsent(T.syslogHostname, env.host);
    c.emitIfAbsent(T.observerName, env.host);
  }
  const pri = env.pri;
  if (pri >= 0) {
    c.emitIfAbsent(T.priority, PRI_TEXT[pri] as string);
    c.emitIfAbsent(T.facility, FACILITY_TEXT[pri] as string);
    c.emitIfAbsent(T.severity, SEVERITY_TEXT[pri] as string);
  }

  c.push(T.vendor.name, 'Fortinet');
  c.push(T.product.name, 'FortiGate');
  c.push(T.observerType.name, 'firewall');
  c.push(T.source.name, input.source);
  c.push(T.sourceAddress.name, input.peer);
  if (input.receivedAtMs !== lastIngestedMs) {
    lastIngestedMs = input.receivedAtMs;
    lastIngested = Number.isFinite(input.receivedAtMs) ? new Date(input.receivedAtMs).toISOString() : '';
  }
  c.push(T.eventIngested.name, lastIngested);
  if (input.truncated) c.push(T.truncated.name, 'true');
  if (c.truncatedFields) c.push(T.truncatedFields.name, 'true');
  return timeMs;
}
