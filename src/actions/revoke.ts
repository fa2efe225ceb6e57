import type { Session, SessionMethod } from '../state/session-model.js';
import type { SessionRevokeSelector, SessionStore } from '../state/sessions.js';
import type { ActionEnqueuer, AddressListWriter } from './alert-actions.js';
import type { DeviceResolver } from './device-resolver.js';
import { fortiosDeauthMethod, type ActionJob } from './jobs.js';

/**
 * One-command revocation: delete the sessions (one script call: session, indices, expiry entry and
 * the `session.revoked` audit entry change together), then enqueue what the FortiGates must do: a
 * `deauth-user` per session on the device that saw it, and a `ban-ip` of its address when asked.
 * The revoked addresses join the `revoked` address list (feeds) for `listSeconds`.
 */

export interface RevokeRequest {
  readonly selector: SessionRevokeSelector;
  readonly reason: string;
  /** Who asked: `cli:<os user>` or `api:<token name>`; stored in the audit entry. */
  readonly actor: string;
  /** Also ban the sessions' source addresses for this long (0 = until cleared); undefined = no ban. */
  readonly banSeconds?: number | undefined;
  /** Enqueue deauth-user jobs (default true). */
  readonly deauth?: boolean;
  readonly nowMs?: number;
}

export interface RevokeJob {
  readonly type: ActionJob['type'];
  readonly device: string;
  readonly ip: string;
  readonly jobId: string;
  readonly duplicate: boolean;
}

export interface RevokeOutcome {
  readonly revoked: readonly Session[];
  readonly jobs: readonly RevokeJob[];
  /** Actions not enqueued, with why (no device configured for the session, no actions queue). */
  readonly skipped: readonly { readonly session: string; readonly action: string; readonly reason: string }[];
}

export interface RevokeDependencies {
  readonly sessions: SessionStore;
  /** The actions queue; undefined when no devices are configured (sessions are still revoked). */
  readonly queue?: ActionEnqueuer | undefined;
  readonly devices: DeviceResolver;
  readonly lists?: AddressListWriter | undefined;
  /** Address list the revoked addresses join (default `revoked`) and for how long (default 24 h). */
  readonly revokedList?: string;
  readonly listSeconds?: number;
}

export async function revokeSessions(deps: RevokeDependencies, request: RevokeRequest): Promise<RevokeOutcome> {
  const nowMs = request.nowMs ?? Date.now();
  const revoked = await deps.sessions.revoke(request.selector, nowMs, request.reason, request.actor);
  const jobs: RevokeJob[] = [];
  const skipped: { session: string; action: string; reason: string }[] = [];
  const wantDeauth = request.deauth !== false;
  const reason = `revoked by ${request.actor}: ${request.reason}`;

  if (deps.lists !== undefined && revoked.length > 0) {
    const list = deps.revokedList ?? 'revoked';
    const expiresMs = nowMs + (deps.listSeconds ?? 86_400) * 1000;
    const addresses = new Set<string>();
    for (const session of revoked) {
      if (session.ip !== '') addresses.add(session.ip);
      if (session.tunnelIp !== undefined) addresses.add(session.tunnelIp);
    }
    for (const address of addresses) await deps.lists.add(list, address, expiresMs);
  }

  for (const session of revoked) {
    const planned: { action: string; job: ActionJob; key: string }[] = [];
    const device = deps.devices.resolve(session.device);
    // Traffic from an SSL-VPN or IPsec user comes from the tunnel address: that is the firewall user.
    const trafficIp = session.tunnelIp ?? session.ip;
    if (wantDeauth && trafficIp !== '') {
      if (device === undefined) {
        skipped.push({ session: session.id, action: 'deauth-user', reason: `no configured device for "${session.device}"` });
      } else {
        planned.push({
          action: 'deauth-user',
          key: `revoke|${session.id}`,
          job: { type: 'deauth-user', device, ip: trafficIp, user: session.user, method: fortiosDeauthMethod(session.method), reason },
        });
      }
    }
    if (request.banSeconds !== undefined && session.ip !== '') {
      if (device === undefined) {
        skipped.push({ session: session.id, action: 'ban-ip', reason: `no configured device for "${session.device}"` });
      } else {
        planned.push({
          action: 'ban-ip',
          key: `revoke|${session.id}`,
          job: { type: 'ban-ip', device, ip: session.ip, expirySeconds: request.banSeconds, reason },
        });
      }
    }
    for (const { action, job, key } of planned) {
      if (deps.queue === undefined) {
        skipped.push({ session: session.id, action, reason: 'no actions queue (the pipeline declares no devices)' });
        continue;
      }
      const result = await deps.queue.enqueue(job, { idempotencyKey: key });
      jobs.push({ type: job.type, device: 'device' in job ? job.device : '', ip: 'ip' in job ? job.ip : '', jobId: result.jobId, duplicate: result.duplicate });
    }
  }
  return { revoked, jobs, skipped };
}
