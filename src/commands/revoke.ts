import { isIP } from 'node:net';
import { userInfo } from 'node:os';
import { createDeviceResolver } from '../actions/device-resolver.js';
import type { ActionQueue } from '../actions/queue.js';
import { revokeSessions, type RevokeOutcome } from '../actions/revoke.js';
import { DEFAULT_ACTIONS_SETTINGS } from '../actions/settings.js';
import { FortistreamError } from '../errors.js';
import { addressListWriter } from '../runtime/enforcement.js';
import { escapeControlChars } from '../sinks/escape.js';
import { createStateKeys } from '../state/keys.js';
import { createSessionStore, type SessionRevokeSelector } from '../state/sessions.js';
import { formatTable, openCommandContext, type CommandContextOptions } from './context.js';
import { sessionToJson } from './sessions.js';

export interface RevokeCommandOptions extends CommandContextOptions {
  readonly user?: string | undefined;
  readonly ip?: string | undefined;
  readonly reason?: string | undefined;
  /** Also ban the sessions' source addresses for this many seconds (0 = until cleared). */
  readonly ban?: number | undefined;
  /** false with --no-deauth. */
  readonly deauth: boolean;
  readonly json: boolean;
  readonly print: (line: string) => void;
}

/** The selector from --user / --ip (exactly one). */
function selectorOf(options: RevokeCommandOptions): SessionRevokeSelector {
  if ((options.user === undefined) === (options.ip === undefined)) {
    throw new FortistreamError('FST_ARGUMENT_INVALID', 'give exactly one of --user NAME or --ip ADDRESS');
  }
  if (options.ip !== undefined) {
    if (isIP(options.ip) === 0) throw new FortistreamError('FST_ARGUMENT_INVALID', `--ip: not an IPv4 or IPv6 address: ${options.ip}`);
    return { by: 'ip', ip: options.ip };
  }
  const user = options.user ?? '';
  if (user === '' || user.length > 512) throw new FortistreamError('FST_ARGUMENT_INVALID', '--user: 1 to 512 characters');
  return { by: 'user', user };
}

/**
 * `fortistream revoke --user U | --ip A [--reason TEXT] [--ban SECONDS] [--no-deauth] [--json]`:
 * deletes the sessions (and their index entries) atomically, audits `session.revoked`, lists the
 * addresses as `revoked`, and enqueues deauth-user (and ban-ip) on the devices that saw them; the
 * running worker's runner makes the calls. Returns the outcome.
 */
export async function revokeCommand(options: RevokeCommandOptions): Promise<RevokeOutcome> {
  const selector = selectorOf(options);
  const context = await openCommandContext(options);
  let queue: ActionQueue | undefined;
  try {
    const { pipeline, prefix, redis } = context;
    const keys = createStateKeys({ prefix, auditStream: prefix + pipeline.audit.stream });
    const sessions = createSessionStore(redis, { prefix, auditStream: keys.auditStream, auditMaxLen: pipeline.audit.max_len });
    const acts = Object.keys(pipeline.devices ?? {}).length > 0;
    if (acts) {
      // Loaded on use: BullMQ takes ~0.3 s to import.
      const { createActionQueue } = await import('../actions/queue.js');
      queue = createActionQueue({
        connection: redis,
        prefix,
        settings: pipeline.actions ?? DEFAULT_ACTIONS_SETTINGS,
        devices: pipeline.devices ?? {},
      });
    }
    const outcome = await revokeSessions(
      { sessions, queue, devices: createDeviceResolver(pipeline.devices), lists: addressListWriter(redis, keys) },
      {
        selector,
        reason: (options.reason ?? 'revoked from the command line').slice(0, 200),
        actor: `cli:${userInfo().username}`,
        banSeconds: options.ban,
        deauth: options.deauth,
      },
    );
    printOutcome(outcome, selector, options, acts);
    return outcome;
  } finally {
    await queue?.close();
    await context.close();
  }
}

function printOutcome(outcome: RevokeOutcome, selector: SessionRevokeSelector, options: RevokeCommandOptions, acts: boolean): void {
  if (options.json) {
    options.print(
      JSON.stringify(
        {
          revoked: outcome.revoked.length,
          sessions: outcome.revoked.map(sessionToJson),
          jobs: outcome.jobs.map((job) => ({ id: job.jobId, type: job.type, device: job.device, ip: job.ip, duplicate: job.duplicate })),
          skipped: outcome.skipped,
        },
        null,
        2,
      ),
    );
    return;
  }
  const clean = (text: string): string => escapeControlChars(text);
  const who = selector.by === 'user' ? `user ${clean(selector.user)}` : `address ${selector.ip}`;
  if (outcome.revoked.length === 0) {
    options.print(`no live sessions of ${who}: nothing revoked`);
    return;
  }
  options.print(`revoked ${outcome.revoked.length} session(s) of ${who} (deleted with their index entries; session.revoked audited)`);
  const rows = outcome.revoked.map((s) => [clean(s.user), clean(s.ip), clean(s.tunnelIp ?? '-'), s.method, clean(s.device)]);
  for (const line of formatTable(['USER', 'IP', 'TUNNEL IP', 'METHOD', 'DEVICE'], rows)) options.print(`  ${line}`);
  for (const job of outcome.jobs) {
    options.print(`${job.duplicate ? 'already queued' : 'enqueued'}: ${job.type} ${job.ip} on ${job.device} (job ${job.jobId})`);
  }
  for (const skip of outcome.skipped) options.print(`not enqueued: ${skip.action} for session ${skip.session}: ${skip.reason}`);
  if (!acts && options.deauth) options.print('the FortiGates were not called: declare them under devices: to deauthenticate (see README "Enforcement")');
  if (outcome.jobs.length > 0) options.print('the running worker makes the calls; follow them with `fortistream actions`');
}
