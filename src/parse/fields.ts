/**
 * The one static table from FortiGate key to normalized (ECS) field, built once at module load.
 *
 * A key resolves to a `KeyRule`:
 * - `target` set, `slot` = -1: emitted straight away under `target.name`;
 * - `target` set, `slot` >= 0: emitted and also remembered for normalization (logid, type, tz, …);
 * - `target` null, `slot` >= 0: only remembered; the normalizer decides what to emit (date, time,
 *   eventtime, proto, duration, user, …);
 * - `fallback` true: emitted under `target.name` only if no other key filled that field (IPsec `remip`
 *   fills `source.ip` only when the log has no `srcip`).
 *
 * Several keys may share one target (`srcip`, legacy `src`, CEF `src` → `source.ip`); the target's
 * `seen` generation makes the first occurrence win for all of them (see `collector.ts`).
 */

/** A normalized field name and the parse generation that last emitted it (for first-wins). */
export interface Target {
  readonly name: string;
  seen: number;
}

export interface KeyRule {
  readonly target: Target | null;
  readonly slot: number;
  readonly fallback: boolean;
}

// Slots: values the normalizer needs after the scan. Plain numbers (no const enum: esbuild + tsc agree).
export const SLOT_DATE = 0;
export const SLOT_TIME = 1;
export const SLOT_TZ = 2;
export const SLOT_EVENTTIME = 3;
export const SLOT_LOGID = 4;
export const SLOT_TYPE = 5;
export const SLOT_SUBTYPE = 6;
export const SLOT_ACTION = 7;
export const SLOT_STATUS = 8;
export const SLOT_RESULT = 9;
export const SLOT_PROTO = 10;
export const SLOT_DURATION = 11;
export const SLOT_USER = 12;
export const SLOT_XAUTHUSER = 13;
export const SLOT_EAPUSER = 14;
export const SLOT_SENTBYTE = 15;
export const SLOT_RCVDBYTE = 16;
export const SLOT_SENTPKT = 17;
export const SLOT_RCVDPKT = 18;
export const SLOT_SRCMAC = 19;
export const SLOT_DSTMAC = 20;
export const SLOT_COUNT = 21;

const targets = new Map<string, Target>();

/** The shared target object for a normalized field name. */
export function targetFor(name: string): Target {
  let t = targets.get(name);
  if (t === undefined) {
    t = { name, seen: 0 };
    targets.set(name, t);
  }
  return t;
}

const rules = new Map<string, KeyRule>();

function emit(ecs: string, ...keys: string[]): void {
  const target = targetFor(ecs);
  for (const key of keys) rules.set(key, { target, slot: -1, fallback: false });
}
function emitAndKeep(ecs: string, slot: number, ...keys: string[]): void {
  const target = targetFor(ecs);
  for (const key of keys) rules.set(key, { target, slot, fallback: false });
}
function keep(slot: number, ...keys: string[]): void {
  for (const key of keys) rules.set(key, { target: null, slot, fallback: false });
}
function fallback(ecs: string, ...keys: string[]): void {
  const target = targetFor(ecs);
  for (const key of keys) rules.set(key, { target, slot: -1, fallback: true });
}

// Header fields. Legacy FortiOS 3/4 and FortiManager names (`log_id`, `device_id`, `pri`, `desc`) share
// the modern targets.
emit('observer.name', 'devname');
emit('observer.serial_number', 'devid', 'device_id');
emitAndKeep('event.code', SLOT_LOGID, 'logid', 'log_id');
emitAndKeep('fortinet.firewall.type', SLOT_TYPE, 'type');
emitAndKeep('fortinet.firewall.subtype', SLOT_SUBTYPE, 'subtype');
emit('log.level', 'level', 'pri');
emit('fortinet.firewall.vd', 'vd');
emitAndKeep('event.timezone', SLOT_TZ, 'tz');
keep(SLOT_DATE, 'date');
keep(SLOT_TIME, 'time');
keep(SLOT_EVENTTIME, 'eventtime');
// Elastic: logdesc → rule.description, msg → message, reason → event.reason.
emit('rule.description', 'logdesc', 'desc');
emit('message', 'msg');
emit('event.reason', 'reason');

// What happened: `action` is the FortiGate's own verb (deny, close, login, tunnel-up …), never renamed.
emitAndKeep('event.action', SLOT_ACTION, 'action');
emitAndKeep('fortinet.firewall.status', SLOT_STATUS, 'status');
emitAndKeep('fortinet.firewall.result', SLOT_RESULT, 'result');

// Network 5-tuple, NAT, interfaces, counters.
emit('source.ip', 'srcip', 'src');
emit('source.port', 'srcport', 'src_port');
emit('destination.ip', 'dstip', 'dst');
emit('destination.port', 'dstport', 'dst_port');
fallback('source.ip', 'remip');
fallback('source.port', 'remport');
fallback('destination.ip', 'locip');
fallback('destination.port', 'locport');
keep(SLOT_PROTO, 'proto');
emit('source.nat.ip', 'transip');
emit('source.nat.port', 'transport');
emit('destination.nat.ip', 'tranip');
emit('destination.nat.port', 'tranport');
emit('observer.ingress.interface.name', 'srcintf', 'src_int');
emit('observer.egress.interface.name', 'dstintf', 'dst_int');
// Byte/packet counters are emitted by the normalizer: in VPN event logs the source is the remote peer,
// so the FortiGate's `sentbyte` is what the destination received (Elastic swaps them the same way).
keep(SLOT_SENTBYTE, 'sentbyte');
keep(SLOT_RCVDBYTE, 'rcvdbyte');
keep(SLOT_SENTPKT, 'sentpkt');
keep(SLOT_RCVDPKT, 'rcvdpkt');
keep(SLOT_SRCMAC, 'srcmac');
keep(SLOT_DSTMAC, 'dstmac');
emit('source.domain', 'srcname');
emit('destination.domain', 'dstname');
keep(SLOT_DURATION, 'duration');

// Policy.
emit('rule.id', 'policyid', 'policy_id');
emit('rule.name', 'policyname');
emit('rule.uuid', 'poluuid');

// Identity. `user` is only the person when the log is not IPsec (see normalize/finish.ts).
keep(SLOT_USER, 'user');
keep(SLOT_XAUTHUSER, 'xauthuser');
keep(SLOT_EAPUSER, 'eapuser');
emit('user.group.name', 'group');

// Web / UTM (kept simple: the raw URL, host, agent, method, reference).
emit('url.domain', 'hostname');
emit('url.original', 'url');
emit('user_agent.original', 'agent');
emit('http.request.method', 'httpmethod');
emit('event.reference', 'ref');

// CEF header fields (see cef.ts).
emit('event.severity', 'cef_severity');
emit('observer.version', 'cef_device_version');

/** The static FortiGate key → rule table. Unknown keys get a cached `fortinet.firewall.<key>` rule. */
export const KEY_RULES: ReadonlyMap<string, KeyRule> = rules;

/**
 * Standard CEF extension keys → the FortiGate key they carry (then resolved through `KEY_RULES`).
 * Vendor keys `FTNTFGT<key>` / `FortinetFortiGate<key>` / `ad.<key>` are stripped to `<key>` instead.
 */
export const CEF_KEYS: ReadonlyMap<string, string> = new Map([
  ['src', 'srcip'],
  ['dst', 'dstip'],
  ['spt', 'srcport'],
  ['dpt', 'dstport'],
  ['act', 'action'],
  ['duser', 'user'],
  ['suser', 'user'],
  ['deviceExternalId', 'devid'],
  ['dvchost', 'devname'],
  ['outcome', 'status'],
  ['reason', 'reason'],
  ['msg', 'msg'],
  ['in', 'rcvdbyte'],
  ['out', 'sentbyte'],
  ['proto', 'proto'],
  ['deviceInboundInterface', 'srcintf'],
  ['deviceOutboundInterface', 'dstintf'],
  ['sourceTranslatedAddress', 'transip'],
  ['sourceTranslatedPort', 'transport'],
  ['destinationTranslatedAddress', 'tranip'],
  ['destinationTranslatedPort', 'tranport'],
  ['smac', 'srcmac'],
  ['dmac', 'dstmac'],
  ['shost', 'srcname'],
  ['dhost', 'dstname'],
  ['request', 'url'],
  ['requestClientApplication', 'agent'],
  ['requestMethod', 'httpmethod'],
  ['externalId', 'sessionid'],
]);

/** IANA protocol number → ECS `network.transport`. */
export const TRANSPORT_BY_NUMBER: ReadonlyMap<string, string> = new Map([
  ['1', 'icmp'],
  ['2', 'igmp'],
  ['4', 'ipv4'],
  ['6', 'tcp'],
  ['17', 'udp'],
  ['41', 'ipv6'],
  ['47', 'gre'],
  ['50', 'esp'],
  ['51', 'ah'],
  ['58', 'ipv6-icmp'],
  ['89', 'ospf'],
  ['103', 'pim'],
  ['112', 'vrrp'],
  ['132', 'sctp'],
]);
