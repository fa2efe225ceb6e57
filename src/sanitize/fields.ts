import { NUMERIC_FIELDS } from '../parse/event.js';

/**
 * The field tables behind the profiles: which fields are features, which carry identities (and
 * become pseudonyms), which are free text and who could have written that text.
 *
 * Names follow the normalized event (ECS where ECS has the field, `fortinet.firewall.<key>`
 * otherwise), as `src/parse/fields.ts` emits them (e.g. `logdesc` → `rule.description`, `hostname` →
 * `url.domain`, `agent` → `user_agent.original`; keys without a mapping → `fortinet.firewall.<key>`).
 * The feature and text allowlists list only names the parser produces. The identity lists also keep
 * vendor spellings the parser maps away (`fortinet.firewall.srcip`, …): they are a deny-list, and a
 * name there that never appears costs nothing while one missing could leak.
 */

import type { PseudonymKind } from './pseudonymize.js';

export type ProfileType = 'ml' | 'agent' | 'soc';

/** Who produced a text field: the FortiGate itself, or someone outside who could shape its content. */
export type TextOrigin = 'device' | 'external';

/** An entity field of the event and the pseudonym field it becomes in `ml`/`agent`. */
export interface IdentityRule {
  /** Output field, e.g. `source.ip.pseudonym`. */
  readonly output: string;
  readonly kind: PseudonymKind;
  /** Event fields holding the entity; the first one present (and not a null sentinel) is used. */
  readonly from: readonly string[];
}

const USER_FIELDS = [
  'user.name',
  'source.user.name',
  'fortinet.firewall.user',
  'fortinet.firewall.xauthuser',
  'fortinet.firewall.eapuser',
  'fortinet.firewall.unauthuser',
] as const;
const SOURCE_IP_FIELDS = ['source.ip', 'fortinet.firewall.srcip', 'fortinet.firewall.remip'] as const;
const DESTINATION_IP_FIELDS = ['destination.ip', 'fortinet.firewall.dstip'] as const;
const DEVICE_FIELDS = ['observer.serial_number', 'fortinet.firewall.devid', 'observer.name', 'fortinet.firewall.devname'] as const;

/**
 * Pseudonym fields of `ml` and `agent`. `observer.pseudonym` falls back to the device name when
 * the serial is absent (RFC 5424 logs carry only the host name), which yields a different pseudonym
 * for the same device: configure one log format per device.
 */
export const IDENTITY_RULES: readonly IdentityRule[] = [
  { output: 'user.pseudonym', kind: 'user', from: USER_FIELDS },
  { output: 'destination.user.pseudonym', kind: 'user', from: ['destination.user.name', 'fortinet.firewall.dstuser'] },
  { output: 'user.group.pseudonym', kind: 'group', from: ['user.group.name', 'source.user.group.name', 'fortinet.firewall.group'] },
  { output: 'source.ip.pseudonym', kind: 'ip', from: SOURCE_IP_FIELDS },
  { output: 'source.network.pseudonym', kind: 'net', from: SOURCE_IP_FIELDS },
  { output: 'destination.ip.pseudonym', kind: 'ip', from: DESTINATION_IP_FIELDS },
  { output: 'destination.network.pseudonym', kind: 'net', from: DESTINATION_IP_FIELDS },
  { output: 'observer.pseudonym', kind: 'device', from: DEVICE_FIELDS },
];

/** Names of every pseudonym output field. */
export const PSEUDONYM_FIELDS: readonly string[] = IDENTITY_RULES.map((rule) => rule.output);

/**
 * Fields that hold raw identities or addresses. They never appear in `ml`/`agent` output (a
 * `fields` override naming one is refused), and their values are scrubbed from agent text.
 */
export const IDENTITY_FIELDS: ReadonlySet<string> = new Set([
  ...IDENTITY_RULES.flatMap((rule) => rule.from),
  'user.email',
  'user.full_name',
  'user.id',
  'user.domain',
  'source.user.email',
  'source.user.group.name',
  'destination.user.name',
  'destination.user.email',
  'user.group.name',
  'source.address',
  'destination.address',
  'source.nat.ip',
  'destination.nat.ip',
  'source.mac',
  'destination.mac',
  'source.domain',
  'destination.domain',
  'client.ip',
  'server.ip',
  'host.name',
  'host.ip',
  'related.ip',
  'related.user',
  'related.hosts',
  'log.source.address',
  'observer.ip',
  'observer.hostname',
  'fortinet.firewall.srcname',
  'fortinet.firewall.srcmac',
  'fortinet.firewall.dstmac',
  'fortinet.firewall.tunnelip',
  'fortinet.firewall.assignip',
  'fortinet.firewall.locip',
  'fortinet.firewall.transip',
  'fortinet.firewall.tranip',
  'fortinet.firewall.fctuid',
  'fortinet.firewall.fctemssn',
  'fortinet.firewall.dstuser',
  'fortinet.firewall.dst_host',
  'fortinet.firewall.sn',
  'fortinet.firewall.sessionid',
  'event.original',
]);

/** User-name fields whose values are scrubbed from agent text (replaced by the user pseudonym). */
export const USER_NAME_FIELDS: readonly string[] = [...USER_FIELDS, 'destination.user.name', 'fortinet.firewall.dstuser', 'user.full_name'];

/** Group-name fields scrubbed from agent text (replaced by the group pseudonym). */
export const GROUP_NAME_FIELDS: readonly string[] = ['user.group.name', 'source.user.group.name', 'fortinet.firewall.group'];

/** Device identity fields scrubbed from agent text (replaced by the device pseudonym). */
export const DEVICE_NAME_FIELDS: readonly string[] = DEVICE_FIELDS;

/** Client host names scrubbed from agent text (replaced by a host pseudonym). */
export const HOST_NAME_FIELDS: readonly string[] = ['source.domain', 'host.name'];

/**
 * Who could have written each free-text field. `external` = an outsider can shape the content
 * (URLs, host names, user agents, names typed at a login prompt, DNS names, file names, messages
 * that embed any of these); `device` = FortiOS generates it from its own vocabulary or the admin's
 * configuration. A text field missing from this table is treated as `external`.
 */
export const TEXT_FIELD_ORIGINS: ReadonlyMap<string, TextOrigin> = new Map<string, TextOrigin>([
  // generated by FortiOS (fixed per logid, or from the configuration / FortiGuard databases)
  ['rule.description', 'device'],
  ['event.reason', 'device'],
  ['rule.name', 'device'],
  ['fortinet.firewall.policyname', 'device'],
  ['fortinet.firewall.attack', 'device'],
  ['fortinet.firewall.virus', 'device'],
  ['fortinet.firewall.catdesc', 'device'],
  ['fortinet.firewall.result', 'device'],
  ['fortinet.firewall.ui', 'device'],
  ['fortinet.firewall.profile', 'device'],
  ['fortinet.firewall.cfgpath', 'device'],
  ['error.message', 'device'],
  // shaped by whoever sends the traffic or types at a prompt
  ['message', 'external'],
  ['url.original', 'external'],
  ['url.domain', 'external'],
  ['url.path', 'external'],
  ['url.query', 'external'],
  ['user_agent.original', 'external'],
  ['dns.question.name', 'external'],
  ['fortinet.firewall.qname', 'external'],
  ['file.name', 'external'],
  ['fortinet.firewall.filename', 'external'],
  ['http.request.referrer', 'external'],
  ['fortinet.firewall.referralurl', 'external'],
  ['fortinet.firewall.forwardedfor', 'external'],
  ['email.subject', 'external'],
  ['fortinet.firewall.subject', 'external'],
  ['fortinet.firewall.cfgattr', 'external'],
  ['fortinet.firewall.scertcname', 'external'],
  ['fortinet.firewall.rawdata', 'external'],
  ['source.domain', 'external'],
  ...USER_NAME_FIELDS.map((name): [string, TextOrigin] => [name, 'external']),
]);

export function textOrigin(field: string): TextOrigin {
  return TEXT_FIELD_ORIGINS.get(field) ?? 'external';
}

/** Free-text fields never allowed as plain (unwrapped) fields in `ml`/`agent`. */
export const TEXT_FIELDS: ReadonlySet<string> = new Set([...TEXT_FIELD_ORIGINS.keys()].filter((name) => !USER_NAME_FIELDS.includes(name)));

/** Feature fields of `ml` (and the structured part of `agent`), before the pseudonym fields. */
export const ML_FEATURE_FIELDS: readonly string[] = [
  '@timestamp',
  'event.code',
  'event.kind',
  'event.category',
  'event.action',
  'event.outcome',
  'event.reason',
  'event.duration',
  'log.level',
  'fortinet.firewall.type',
  'fortinet.firewall.subtype',
  'fortinet.firewall.eventtype',
  'fortinet.firewall.status',
  'rule.id',
  'fortinet.firewall.policytype',
  'network.transport',
  'network.iana_number',
  'network.bytes',
  'network.packets',
  'fortinet.firewall.service',
  'fortinet.firewall.app',
  'fortinet.firewall.appcat',
  'fortinet.firewall.apprisk',
  'fortinet.firewall.cat',
  'source.port',
  'destination.port',
  'source.bytes',
  'destination.bytes',
  'source.packets',
  'destination.packets',
  'fortinet.firewall.srccountry',
  'fortinet.firewall.dstcountry',
  'observer.ingress.interface.name',
  'observer.egress.interface.name',
  'fortinet.firewall.srcintfrole',
  'fortinet.firewall.dstintfrole',
  'fortinet.firewall.utmaction',
  'fortinet.firewall.crscore',
  'fortinet.firewall.craction',
  'fortinet.firewall.crlevel',
  'fortinet.firewall.trandisp',
  'fortinet.firewall.tunneltype',
  'fortistream.truncated',
];

/** Default output allowlist of `ml`: features plus pseudonyms. */
export const ML_DEFAULT_FIELDS: readonly string[] = [...ML_FEATURE_FIELDS, ...PSEUDONYM_FIELDS];

/** Default plain-field allowlist of `agent` (the wrapped text fields come on top). */
export const AGENT_DEFAULT_FIELDS: readonly string[] = ML_DEFAULT_FIELDS.filter((name) => name !== 'event.reason');

/** Default free-text allowlist of `agent`; each is wrapped in `untrusted_text`. */
export const AGENT_DEFAULT_TEXT_FIELDS: readonly string[] = [
  'message',
  'rule.description',
  'event.reason',
  'rule.name',
  'fortinet.firewall.result',
  'fortinet.firewall.ui',
  'fortinet.firewall.attack',
  'fortinet.firewall.virus',
  'fortinet.firewall.catdesc',
  'url.original',
  'url.domain',
  'user_agent.original',
  'fortinet.firewall.qname',
  'fortinet.firewall.filename',
  'fortinet.firewall.referralurl',
  'fortinet.firewall.forwardedfor',
  'fortinet.firewall.subject',
];

/** Fields of `ml`/`agent` whose values must be numbers (anything else is dropped): the parser's numeric fields and a few more. */
export const NUMERIC_FEATURE_FIELDS: ReadonlySet<string> = new Set([
  ...NUMERIC_FIELDS,
  'event.code',
  'rule.id',
  'fortinet.firewall.crscore',
  'fortinet.firewall.cat',
]);

/** Values FortiGate writes for "nothing"; identities with these values get no pseudonym. */
export const NULL_SENTINELS: ReadonlySet<string> = new Set(['', 'N/A', 'n/a', '(null)', 'undefined', '-']);

/** Default stream of each profile type. */
export const DEFAULT_PROFILE_STREAMS: Readonly<Record<ProfileType, string>> = {
  ml: 'fortistream:events:ml',
  agent: 'fortistream:events:agent',
  soc: 'fortistream:events:soc',
};

/** Default cap of agent text fields, in characters (plus the truncation marker). */
export const DEFAULT_MAX_TEXT_CHARS = 512;
