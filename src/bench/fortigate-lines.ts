/**
 * A small seeded generator of FortiGate log lines in FortiOS `default` format (`<PRI>date=… time=…
 * devname="…" … key=value`, no syslog header), for `fortistream bench`. The same seed gives the same
 * lines (given the same `startMs`), so runs on different machines compare.
 *
 * Mix, as a busy FortiGate logs it: ~80% traffic/forward (close, accept, deny; ~45 key=value pairs),
 * ~10% UTM (webfilter, IPS, application control), ~10% events (user authentication success and
 * failure, SSL-VPN tunnel up and down; a tunnel goes down only after it came up). Addresses, ports,
 * users and policies vary; a few values carry escaped quotes, as real ones do.
 */

/** Counts of the lines produced so far, by log type. */
export interface LineMix {
  traffic: number;
  utm: number;
  event: number;
}

export interface LineGeneratorOptions {
  /** Same seed, same lines (default 1). */
  readonly seed?: number;
  /** Epoch ms of the first line (default 2026-01-15T08:00:00Z); each line is 0–1 ms after the previous. */
  readonly startMs?: number;
}

export interface FortiGateLineGenerator {
  /** The next line, without a line terminator (ASCII only). */
  next(): string;
  readonly mix: Readonly<LineMix>;
}

export const DEFAULT_START_MS = Date.UTC(2026, 0, 15, 8, 0, 0);

/** mulberry32 on a splitmix32-scrambled seed: tiny, fast and good enough for test data. */
function seededRandom(seed: number): () => number {
  let z = (seed >>> 0) + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  let state = (z ^ (z >>> 16)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Device {
  readonly name: string;
  readonly serial: string;
  readonly wan: string;
  readonly wanIp: string;
  readonly lan: readonly string[];
}

const DEVICES: readonly Device[] = [
  { name: 'hq-fw01', serial: 'FG200FT923000117', wan: 'wan1', wanIp: '203.0.113.10', lan: ['port1', 'port2', 'port3'] },
  { name: 'dc-fw02', serial: 'FG600FTK22004471', wan: 'x1', wanIp: '198.51.100.20', lan: ['port5', 'port7'] },
  { name: 'branch-fw03', serial: 'FGT60FTK2109A3C2', wan: 'wan', wanIp: '192.0.2.30', lan: ['internal'] },
];

/** [address, country] of public destinations. */
const DESTINATIONS: readonly (readonly [string, string])[] = [
  ['142.250.185.78', 'United States'], ['13.107.42.14', 'United States'], ['52.97.146.162', 'United States'],
  ['151.101.1.69', 'United States'], ['104.16.132.229', 'United States'], ['140.82.121.4', 'Germany'],
  ['185.199.108.153', 'Netherlands'], ['157.240.1.35', 'Ireland'], ['23.215.0.136', 'Netherlands'],
  ['195.8.215.136', 'France'], ['81.2.69.142', 'United Kingdom'], ['202.12.27.33', 'Japan'],
];
const RESOLVERS: readonly (readonly [string, string])[] = [['8.8.8.8', 'United States'], ['1.1.1.1', 'Australia'], ['9.9.9.9', 'Switzerland']];

/** [service, protocol, port, app id, app, app category, weight]; app id 0 = not identified. */
const SERVICES: readonly (readonly [string, number, number, number, string, string, number])[] = [
  ['HTTPS', 6, 443, 40568, 'HTTPS.BROWSER', 'Web.Client', 48],
  ['HTTP', 6, 80, 15893, 'HTTP.BROWSER', 'Web.Client', 10],
  ['DNS', 17, 53, 16195, 'DNS', 'Network.Service', 16],
  ['udp/443', 17, 443, 40169, 'QUIC', 'Network.Service', 9],
  ['NTP', 17, 123, 16270, 'NTP', 'Network.Service', 4],
  ['SSH', 6, 22, 16060, 'SSH', 'Remote.Access', 4],
  ['RDP', 6, 3389, 15896, 'RDP', 'Remote.Access', 3],
  ['SMTPS', 6, 465, 16045, 'SMTPS', 'Email', 3],
  ['tcp/8443', 6, 8443, 0, '', 'unscanned', 3],
];
const SERVICE_WEIGHT = SERVICES.reduce((sum, s) => sum + s[6], 0);

const OS_KINDS: readonly (readonly [string, string])[] = [['Windows', 'Windows PC'], ['macOS', 'Mac'], ['Linux', 'Linux PC'], ['iOS', 'iPhone'], ['Android', 'Android Phone']];
const USERS = [
  'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'olivia',
  'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter', 'j.smith', 'm.jones', 'a.kumar', 'l.garcia',
  'p.nguyen', 's.muller', 'k.tanaka', 'svc-backup', 'helpdesk01', 'contractor7',
] as const;
const GUESSED_USERS = ['admin', 'administrator', 'test', 'vpn', 'root', 'guest', 'support'] as const;
const GROUPS = ['SSLVPN-Users', 'SSLVPN-Admins', 'Contractors', 'Finance'] as const;
const WEB_CATEGORIES: readonly (readonly [number, string, boolean])[] = [
  [52, 'Information Technology', false], [41, 'Search Engines and Portals', false], [37, 'Social Networking', false],
  [25, 'Web-based Email', false], [26, 'Malicious Websites', true], [61, 'Phishing', true], [90, 'Newly Registered Domain', true],
];
const HOSTS = ['www.example.com', 'outlook.office365.com', 'login.microsoftonline.com', 'github.com', 'teams.microsoft.com', 'en.wikipedia.org', 'news.example.org'];
const BAD_HOSTS = ['malware-c2.example.net', 'phish-login.example.info', 'free-prizes.example.biz'];
const IPS_SIGNATURES: readonly (readonly [number, string, string])[] = [
  [51006, 'Apache.Log4j.Error.Log.Remote.Code.Execution', 'critical'],
  [15621, 'SQL.Injection.Generic', 'high'],
  [44468, 'Fortinet.FortiOS.SSL.VPN.Heap.Buffer.Overflow', 'critical'],
  [12345, 'Nmap.Script.Scanner', 'low'],
];
const APPS: readonly (readonly [number, string, string, string])[] = [
  [16354, 'Microsoft.Teams', 'Collaboration', 'elevated'], [31077, 'YouTube', 'Video/Audio', 'elevated'],
  [15832, 'Facebook', 'Social.Media', 'medium'], [16920, 'Dropbox', 'Storage.Backup', 'elevated'],
  [107347, 'BitTorrent', 'P2P', 'high'],
];

/** PRI of facility local7 (23) at a FortiOS level. */
const PRI: Readonly<Record<string, number>> = { alert: 185, warning: 188, notice: 189, information: 190 };

interface OpenTunnel {
  readonly id: number;
  readonly user: string;
  readonly group: string;
  readonly remoteIp: string;
  readonly tunnelIp: string;
}

export function createLineGenerator(options: LineGeneratorOptions = {}): FortiGateLineGenerator {
  const random = seededRandom(options.seed ?? 1);
  const int = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const hex = (n: number): string => n.toString(16).padStart(2, '0');

  // Per-seed pools: policies with their uuids, each user's home address (SSL-VPN), attacker addresses.
  const policies = Array.from({ length: 12 }, (_, i) => ({
    id: i + 1,
    name: `${pick(['LAN-to-WAN', 'Guest-Internet', 'Servers-Out', 'VPN-to-LAN', 'Voice', 'IoT-Restricted'])}-${i + 1}`,
    uuid: [8, 4, 4, 4, 12].map((len) => Array.from({ length: len }, () => int(0, 15).toString(16)).join('')).join('-'),
  }));
  const publicIp = (): string => `${pick([81, 84, 88, 92, 95, 176, 185, 212, 217])}.${int(1, 254)}.${int(0, 255)}.${int(1, 254)}`;
  const homeOf = new Map<string, string>(USERS.map((user) => [user, publicIp()]));
  const attackers = Array.from({ length: 12 }, () => `${pick([45, 89, 103, 141, 179, 193])}.${int(1, 254)}.${int(0, 255)}.${int(1, 254)}`);

  let ms = options.startMs ?? DEFAULT_START_MS;
  let sessionId = 3_000_000 + int(0, 999_999);
  let tunnelId = 500_000 + int(0, 99_999);
  let incident = 200_000_000 + int(0, 999_999);
  const tunnels: OpenTunnel[] = [];
  const mix: LineMix = { traffic: 0, utm: 0, event: 0 };

  const header = (device: Device, logid: string, type: string, subtype: string, level: string): string => {
    const iso = new Date(ms).toISOString();
    const nanos = `${String(ms % 1000).padStart(3, '0')}${String(int(0, 999_999)).padStart(6, '0')}`;
    return `<${PRI[level] ?? 189}>date=${iso.slice(0, 10)} time=${iso.slice(11, 19)} devname="${device.name}" devid="${device.serial}" eventtime=${Math.floor(ms / 1000)}${nanos} tz="+0000" logid="${logid}" type="${type}" subtype="${subtype}" level="${level}" vd="root"`;
  };
  const lanHost = (): { ip: string; mac: string } => {
    const [b, c] = [int(0, 15), int(1, 254)];
    return { ip: `10.20.${b}.${c}`, mac: `00:09:0f:${hex(b)}:${hex(c)}:${hex((b * 7 + c) & 255)}` };
  };

  function traffic(device: Device): string {
    let roll = random() * SERVICE_WEIGHT;
    let service = SERVICES[0] as (typeof SERVICES)[number];
    for (const candidate of SERVICES) {
      roll -= candidate[6];
      if (roll < 0) {
        service = candidate;
        break;
      }
    }
    const [name, proto, port, appId, app, appCategory] = service;
    const [dstIp, dstCountry] = port === 53 ? pick(RESOLVERS) : pick(DESTINATIONS);
    const host = lanHost();
    const r = random();
    const action = r < 0.62 ? 'close' : r < 0.82 ? 'accept' : 'deny';
    const policy = action === 'deny' && random() < 0.6 ? { id: 0, name: '', uuid: '00000000-0000-0000-0000-000000000000' } : pick(policies);
    const [os, deviceType] = pick(OS_KINDS);
    let line = header(device, '0000000013', 'traffic', 'forward', action === 'deny' ? 'warning' : 'notice');
    line += ` srcip=${host.ip} srcport=${int(1024, 65535)} srcintf="${pick(device.lan)}" srcintfrole="lan" dstip=${dstIp} dstport=${port} dstintf="${device.wan}" dstintfrole="wan" srccountry="Reserved" dstcountry="${dstCountry}" sessionid=${sessionId++} proto=${proto} action="${action}" policyid=${policy.id} policytype="policy" poluuid="${policy.uuid}"`;
    if (policy.name) line += ` policyname="${policy.name}"`;
    line += ` service="${name}"`;
    if (action === 'deny') {
      line += ` trandisp="noop" duration=0 sentbyte=0 rcvdbyte=0 sentpkt=0 rcvdpkt=0 appcat="unscanned" crscore=30 craction=131072 crlevel="high" srcmac="${host.mac}" osname="${os}"`;
      if (policy.id === 0) line += ` msg="Denied by forward policy check (policy 0)"`;
      return line;
    }
    const sentPackets = int(1, 300);
    const receivedPackets = int(1, 800);
    const sentBytes = sentPackets * int(60, 1400);
    const receivedBytes = receivedPackets * int(60, 1500);
    line += ` trandisp="snat" transip=${device.wanIp} transport=${int(1024, 65535)}`;
    line += appId ? ` appid=${appId} app="${app}" appcat="${appCategory}" apprisk="${pick(['low', 'medium', 'elevated'])}"` : ` appcat="unscanned"`;
    line += ` duration=${action === 'accept' ? 0 : int(1, 180)} sentbyte=${sentBytes} rcvdbyte=${receivedBytes} sentpkt=${sentPackets} rcvdpkt=${receivedPackets}`;
    if (action === 'close') line += ` sentdelta=${sentBytes} rcvddelta=${receivedBytes}`;
    line += ` vwlid=0 srcmac="${host.mac}" osname="${os}" devtype="${deviceType}"`;
    // Identity on traffic (FSSO / firewall authentication): a fifth of the lines name their user.
    if (random() < 0.2) line += ` user="${pick(USERS)}" group="${pick(GROUPS)}" authserver="FSSO_DC01"`;
    if (port === 443 || port === 80) line += ` utmaction="allow" countweb=1`;
    return line;
  }

  function utm(device: Device): string {
    const host = lanHost();
    const policy = pick(policies);
    const kind = random();
    if (kind < 0.5) {
      const [category, description, blocked] = pick(WEB_CATEGORIES);
      const hostname = blocked ? pick(BAD_HOSTS) : pick(HOSTS);
      const [dstIp, dstCountry] = pick(DESTINATIONS);
      // One URL in fifty has escaped quotes, as search queries do.
      const path = random() < 0.02 ? `search?q=\\"${pick(USERS)} password\\"` : pick(['', 'index.html', 'login', `api/v1/items?id=${int(1, 99_999)}`]);
      let line = header(device, blocked ? '0316013056' : '0317013312', 'utm', 'webfilter', blocked ? 'warning' : 'notice');
      line += ` eventtype="${blocked ? 'ftgd_blk' : 'ftgd_allow'}" policyid=${policy.id} poluuid="${policy.uuid}" policytype="policy" sessionid=${sessionId++} srcip=${host.ip} srcport=${int(1024, 65535)} srccountry="Reserved" srcintf="${pick(device.lan)}" srcintfrole="lan" dstip=${dstIp} dstport=443 dstcountry="${dstCountry}" dstintf="${device.wan}" dstintfrole="wan" proto=6 service="HTTPS" hostname="${hostname}" profile="default" action="${blocked ? 'blocked' : 'passthrough'}" reqtype="direct" url="https://${hostname}/${path}" sentbyte=${int(300, 2000)} rcvdbyte=${blocked ? 0 : int(0, 90_000)} direction="outgoing" msg="URL belongs to ${blocked ? 'a denied' : 'an allowed'} category in policy" method="domain" cat=${category} catdesc="${description}"`;
      return line;
    }
    if (kind < 0.7) {
      const [attackId, attack, severity] = pick(IPS_SIGNATURES);
      const agent = random() < 0.05 ? 'Mozilla/5.0 \\"() { :; }; /bin/bash -c id\\"' : pick(['curl/8.4.0', 'python-requests/2.31.0', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)']);
      let line = header(device, '0419016384', 'utm', 'ips', 'alert');
      line += ` eventtype="signature" severity="${severity}" srcip=${pick(attackers)} srccountry="Reserved" dstip=${device.wanIp} srcintf="${device.wan}" srcintfrole="wan" dstintf="${pick(device.lan)}" dstintfrole="lan" sessionid=${sessionId++} action="dropped" proto=6 service="HTTPS" policyid=${policy.id} poluuid="${policy.uuid}" attack="${attack}" srcport=${int(1024, 65535)} dstport=443 hostname="${device.wanIp}" url="/remote/login?lang=en" agent="${agent}" httpmethod="GET" direction="outgoing" attackid=${attackId} profile="default" incidentserialno=${incident++} msg="web_misc: ${attack}," crscore=50 craction=4096 crlevel="critical"`;
      return line;
    }
    const [appId, app, category, risk] = pick(APPS);
    const [dstIp, dstCountry] = pick(DESTINATIONS);
    const block = category === 'P2P';
    let line = header(device, block ? '1059028705' : '1059028704', 'utm', 'app-ctrl', block ? 'warning' : 'information');
    line += ` eventtype="signature" appid=${appId} srcip=${host.ip} srccountry="Reserved" dstip=${dstIp} dstcountry="${dstCountry}" srcport=${int(1024, 65535)} dstport=443 srcintf="${pick(device.lan)}" srcintfrole="lan" dstintf="${device.wan}" dstintfrole="wan" proto=6 service="HTTPS" direction="outgoing" policyid=${policy.id} poluuid="${policy.uuid}" sessionid=${sessionId++} applist="default" action="${block ? 'block' : 'pass'}" appcat="${category}" app="${app}" incidentserialno=${incident++} msg="${category}: ${app}," apprisk="${risk}"`;
    return line;
  }

  function event(device: Device): string {
    const kind = random();
    if (kind < 0.5) {
      // Authentication: three in five succeed; failures come from users and from guessing attackers.
      const success = kind < 0.3;
      const guessing = !success && random() < 0.5;
      const user = guessing ? pick(GUESSED_USERS) : pick(USERS);
      const srcIp = guessing ? pick(attackers) : (homeOf.get(user) ?? publicIp());
      let line = header(device, success ? '0102043008' : '0102043009', 'event', 'user', success ? 'information' : 'notice');
      line += ` logdesc="Authentication ${success ? 'success' : 'failed'}" srcip=${srcIp} dstip=${device.wanIp} policyid=${int(1, 5)} interface="${device.wan}" user="${user}" group="${success ? pick(GROUPS) : 'N/A'}" authproto="HTTPS(${srcIp})" action="authentication" status="${success ? 'success' : 'failure'}" reason="N/A" msg="User ${user} ${success ? 'succeeded' : 'failed'} in authentication"`;
      return line;
    }
    const down = tunnels.length > 0 && (kind >= 0.75 || tunnels.length >= 200);
    if (down) {
      const tunnel = tunnels.splice(Math.floor(random() * tunnels.length), 1)[0] as OpenTunnel;
      let line = header(device, '0101039948', 'event', 'vpn', 'information');
      line += ` logdesc="SSL VPN tunnel down" action="tunnel-down" tunneltype="ssl-tunnel" tunnelid=${tunnel.id} remip=${tunnel.remoteIp} tunnelip=${tunnel.tunnelIp} user="${tunnel.user}" group="${tunnel.group}" dst_host="N/A" reason="connection closed" duration=${int(30, 36_000)} sentbyte=${int(10_000, 500_000_000)} rcvdbyte=${int(10_000, 900_000_000)} msg="SSL tunnel shutdown"`;
      return line;
    }
    const user = pick(USERS);
    const tunnel: OpenTunnel = { id: tunnelId++, user, group: pick(GROUPS), remoteIp: homeOf.get(user) ?? publicIp(), tunnelIp: `10.212.134.${int(10, 250)}` };
    tunnels.push(tunnel);
    let line = header(device, '0101039947', 'event', 'vpn', 'information');
    line += ` logdesc="SSL VPN tunnel up" action="tunnel-up" tunneltype="ssl-tunnel" tunnelid=${tunnel.id} remip=${tunnel.remoteIp} tunnelip=${tunnel.tunnelIp} user="${user}" group="${tunnel.group}" dst_host="N/A" reason="tunnel established" msg="SSL tunnel established"`;
    return line;
  }

  return {
    mix,
    next() {
      ms += int(0, 1);
      const r = random();
      const device = r < 0.6 ? (DEVICES[0] as Device) : r < 0.9 ? (DEVICES[1] as Device) : (DEVICES[2] as Device);
      const kind = random();
      if (kind < 0.8) {
        mix.traffic += 1;
        return traffic(device);
      }
      if (kind < 0.9) {
        mix.utm += 1;
        return utm(device);
      }
      mix.event += 1;
      return event(device);
    },
  };
}
