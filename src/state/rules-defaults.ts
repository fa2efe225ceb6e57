/**
 * The default state rules, as YAML for `pipelines/default.yaml` (the `sessions:` and `counters:`
 * top-level sections). Log ids and fields: /work/shared/fortigate-format.md §5–6 and the corpus lines
 * cited in test/unit/state/rules.test.ts. Kept as text so the shipped pipeline and this constant can
 * be compared, and so the test parses exactly what users read.
 */

export const DEFAULT_SESSIONS_YAML = `sessions:
  # FortiGate "config user setting": auth-timeout-type idle-timeout, auth-timeout 5 (minutes).
  timeout: { type: idle-timeout, seconds: 300 }
  methods:
    # FSSO entries live until the collector reports a logoff; traffic with the user refreshes them.
    fsso: { type: idle-timeout, seconds: 28800 }
    # "config vpn ssl settings" auth-timeout (default 28800 s; 0 = none). Idle tunnels end with a
    # tunnel-down log, which closes the session.
    sslvpn: { type: hard-timeout, seconds: 28800 }
    # Admin logout (0100032003) is logged on exit and on admintimeout; this is only a safety net.
    admin: { type: hard-timeout, seconds: 28800 }
    # IPsec tunnel statistics (0101037141) refresh the session every nextstat=600 s.
    ipsec: { type: idle-timeout, seconds: 1200 }
  # Per-group timeouts (first listed group the user is in wins), e.g.:
  #   Finance: { type: hard-timeout, seconds: 3600 }
  groups: {}
  audit_refresh: false
  sweep_interval_seconds: 1
  rules:
    # Firewall authentication success (captive portal, HTTPS/TELNET auth): user, group, srcip.
    - name: firewall-auth
      when: { event.code: "0102043008" }
      do: open
      method: firewall
    # Authentication logon / logout: the FortiGate adds a user from an auth server (authserver=FSSO_x).
    # Same method as FSSO logon, so the two logs of one FSSO login yield one session (the second
    # replaces the first: same device, method and address).
    - name: auth-logon
      when: { event.code: "0102043039" }
      do: open
      method: fsso
    - name: auth-logout
      when: { event.code: "0102043040" }
      do: close
      method: fsso
    # FSSO logon / logoff from the collector agent.
    - name: fsso-logon
      when: { event.code: "0102043014" }
      do: open
      method: fsso
    - name: fsso-logoff
      when: { event.code: "0102043015" }
      do: close
      method: fsso
    # SSL-VPN tunnel mode: the session is found by the assigned tunnel IP as well as the remote IP.
    - name: sslvpn-tunnel-up
      when: { event.code: "0101039947" }
      do: open
      method: sslvpn
      tunnel_ip_from: [fortinet.firewall.tunnelip]
    - name: sslvpn-tunnel-down
      when: { event.code: "0101039948" }
      do: close
      method: sslvpn
      tunnel_ip_from: [fortinet.firewall.tunnelip]
      close_by: tunnel_ip
    # SSL-VPN user (web mode) tunnel up / down: no tunnel IP, so the tunnel id correlates them.
    - name: sslvpn-user-tunnel-up
      when: { event.code: "0101039424" }
      do: open
      method: sslvpn
      tunnel_ip_from: [fortinet.firewall.tunnelip]
      external_id_from: [fortinet.firewall.tunnelid]
    - name: sslvpn-user-tunnel-down
      when: { event.code: "0101039425" }
      do: close
      method: sslvpn
      external_id_from: [fortinet.firewall.tunnelid]
      close_by: external
    # Administrator login / logout, correlated by sn ("used to correlate login and logout").
    - name: admin-login
      when: { event.code: "0100032001" }
      do: open
      method: admin
      external_id_from: [fortinet.firewall.sn]
    - name: admin-logout
      when: { event.code: "0100032003" }
      do: close
      method: admin
      external_id_from: [fortinet.firewall.sn]
      close_by: external
    # IPsec dial-up users: "IPsec connection status changed" tunnel-up / tunnel-down carries the
    # XAUTH/EAP user (user.name), the mode-config address and the tunnel id. Site-to-site tunnels
    # (xauthuser="N/A") have no user and open nothing.
    - name: ipsec-tunnel-up
      when: { event.code: "0101037138", event.action: tunnel-up }
      do: open
      method: ipsec
      tunnel_ip_from: [fortinet.firewall.tunnelip, fortinet.firewall.assignip]
      external_id_from: [fortinet.firewall.tunnelid]
      groups_from: [fortinet.firewall.xauthgroup, fortinet.firewall.eapauthgroup, user.group.name]
    - name: ipsec-tunnel-down
      when: { event.code: "0101037138", event.action: tunnel-down }
      do: close
      method: ipsec
      external_id_from: [fortinet.firewall.tunnelid]
      close_by: external
    # IPsec tunnel statistics are periodic (nextstat), not a close: they show the tunnel is alive.
    - name: ipsec-tunnel-stats
      when: { event.code: ["0101037141", "0101037100"] }
      do: refresh
      ip_from: [fortinet.firewall.tunnelip, source.ip]
    # Identity on traffic and UTM logs (user, and authserver for FSSO) keeps that user's session
    # at that address alive.
    - name: traffic-identity
      when: { fortinet.firewall.type: [traffic, utm], user.name: { exists: true } }
      do: refresh
`;

export const DEFAULT_COUNTERS_YAML = `counters:
  # Failed logins: admin (0100032002), firewall authentication (0102043009), SSL-VPN (0101039426).
  - name: failed_logins_per_user
    when: { event.code: ["0100032002", "0102043009", "0101039426"] }
    key: [user.name]
    window_seconds: 300
    bucket_seconds: 10
    threshold: 5
  - name: failed_logins_per_ip
    when: { event.code: ["0100032002", "0102043009", "0101039426"] }
    key: [source.ip]
    window_seconds: 300
    bucket_seconds: 10
    threshold: 10
  # Denied traffic (forward and local-in policies) per source address.
  - name: denied_traffic_per_ip
    when: { fortinet.firewall.type: traffic, event.action: deny }
    key: [source.ip]
    window_seconds: 300
    bucket_seconds: 10
  # Bytes sent by each user (traffic logs that name a user).
  - name: bytes_sent_per_user
    when: { fortinet.firewall.type: traffic }
    key: [user.name]
    value: source.bytes
    window_seconds: 3600
    bucket_seconds: 60
`;
