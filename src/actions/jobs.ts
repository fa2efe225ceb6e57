/** Contract placeholder: replaced by the actions module's own jobs.ts on merge. */
export type FortiosDeauthMethod = 'fsso' | 'rsso' | 'ntlm' | 'firewall' | 'wsso' | 'fsso_citrix' | 'sso_guest';

export type ActionJob =
  | { type: 'ban-ip'; device: string; ip: string; expirySeconds: number; reason: string }
  | { type: 'unban-ip'; device: string; ip: string; reason: string }
  | { type: 'deauth-user'; device: string; ip: string; user?: string; method: FortiosDeauthMethod; reason: string }
  | { type: 'webhook'; webhook: string; payload: Record<string, unknown> }
  | { type: 'feed-push'; device: string; connector: string; command: 'add' | 'remove' | 'snapshot'; entries: string[] };
