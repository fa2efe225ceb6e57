/** FortiGate log lines for tests that drive the worker, stamped at a given time. */

/** A FortiGate line stamped `atMs` (date/time in UTC plus a nanosecond eventtime) from `device`. */
export function fortigateLine(atMs: number, body: string, device = { name: 'fw-e2e', serial: 'FGT60FE2E0000001' }): Buffer {
  const iso = new Date(atMs).toISOString();
  const head = `<190>date=${iso.slice(0, 10)} time=${iso.slice(11, 19)} devname="${device.name}" devid="${device.serial}" eventtime=${BigInt(atMs) * 1_000_000n} tz="+0000"`;
  return Buffer.from(`${head} ${body}`);
}

/** A failed SSL-VPN login (0101039426) from `ip`, stamped `atMs`. */
export function failedVpnLoginLine(atMs: number, ip: string, device?: { name: string; serial: string }): Buffer {
  return fortigateLine(
    atMs,
    `logid="0101039426" type="event" subtype="vpn" level="alert" vd="root" action="ssl-login-fail" tunneltype="ssl-web" remip=${ip} user="mallory" group="N/A" reason="sslvpn_login_unknown_user" msg="SSL user failed to logged in"`,
    device,
  );
}

/** The auth and traffic lines the state tests send, for one device. */
export function authLines(device?: { name: string; serial: string }) {
  const at = (t: number, body: string): Buffer => fortigateLine(t, body, device);
  return {
    tunnelUp: (t: number): Buffer =>
      at(t, 'logid="0101039947" type="event" subtype="vpn" level="information" vd="root" action="tunnel-up" tunneltype="ssl-tunnel" tunnelid=77 remip=203.0.113.70 tunnelip=10.212.134.200 user="dave" group="SSL_VPN" msg="SSL tunnel established"'),
    traffic: (t: number): Buffer =>
      at(t, 'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.212.134.200 srcport=50000 dstip=198.51.100.9 dstport=443 proto=6 action="close" policyid=7 user="dave" group="SSL_VPN" sentbyte=1200 rcvdbyte=5000'),
    tunnelDown: (t: number): Buffer =>
      at(t, 'logid="0101039948" type="event" subtype="vpn" level="information" vd="root" action="tunnel-down" tunneltype="ssl-tunnel" tunnelid=77 remip=203.0.113.70 tunnelip=10.212.134.200 user="dave" group="SSL_VPN" duration=60 msg="SSL tunnel shutdown"'),
    firewallAuth: (t: number): Buffer =>
      at(t, 'logid="0102043008" type="event" subtype="user" level="notice" vd="root" srcip=10.9.9.9 dstip=10.0.0.1 policyid=2 user="erin" group="Staff" authproto="HTTPS(10.9.9.9)" action="authentication" status="success" msg="User erin succeeded in authentication"'),
    failedLogin: (t: number): Buffer =>
      at(t, 'logid="0102043009" type="event" subtype="user" level="notice" vd="root" srcip=198.51.100.66 dstip=10.0.0.1 policyid=2 user="mallory" group="N/A" authproto="HTTPS(198.51.100.66)" action="authentication" status="failure" msg="User mallory failed in authentication"'),
  };
}

/** Polls `read` every 100 ms until `ok` holds or the time is up; returns the last value read. */
export async function waitFor<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}
