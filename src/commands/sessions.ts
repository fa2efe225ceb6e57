import { escapeControlChars } from '../sinks/escape.js';
import { createSessionReader } from '../state/session-reader.js';
import type { Session } from '../state/session-model.js';
import { formatTable, openCommandContext, relativeTime, type CommandContextOptions } from './context.js';

export interface SessionsCommandOptions extends CommandContextOptions {
  readonly user?: string | undefined;
  readonly ip?: string | undefined;
  readonly json: boolean;
  readonly limit?: number | undefined;
  readonly print: (line: string) => void;
}

/** `fortistream sessions [--user U] [--ip A] [--json]`: live identity sessions. Returns the count. */
export async function sessionsCommand(options: SessionsCommandOptions): Promise<number> {
  const context = await openCommandContext(options);
  try {
    const reader = createSessionReader(context.redis, { prefix: context.prefix });
    const nowMs = Date.now();
    let sessions: Session[];
    if (options.ip !== undefined && options.user !== undefined) {
      const wanted = options.user.toLowerCase();
      sessions = (await reader.byIp(options.ip, { nowMs })).filter((s) => s.user.toLowerCase() === wanted);
    } else if (options.ip !== undefined) {
      sessions = await reader.byIp(options.ip, { nowMs });
    } else if (options.user !== undefined) {
      sessions = await reader.byUser(options.user, { nowMs });
    } else {
      sessions = await reader.list({ nowMs, limit: options.limit ?? 10_000 });
    }
    printSessions(sessions, options, nowMs);
    return sessions.length;
  } finally {
    await context.close();
  }
}

function printSessions(sessions: readonly Session[], options: SessionsCommandOptions, nowMs: number): void {
  if (options.json) {
    options.print(JSON.stringify(sessions.map(sessionToJson), null, 2));
    return;
  }
  if (sessions.length === 0) {
    options.print('no live sessions');
    return;
  }
  // Names come from logs (typed at login prompts): never print their control characters raw.
  const clean = (text: string | undefined): string => escapeControlChars(text ?? '');
  const rows = sessions.map((s) => [
    clean(s.user),
    clean(s.ip),
    clean(s.tunnelIp ?? '-'),
    s.method,
    clean(s.device),
    clean(s.vdom ?? '-'),
    clean(s.groups.join(',') || '-'),
    relativeTime(s.lastSeenMs, nowMs),
    `${relativeTime(s.expiresMs, nowMs)} (${s.timeoutType})`,
  ]);
  for (const line of formatTable(['USER', 'IP', 'TUNNEL IP', 'METHOD', 'DEVICE', 'VDOM', 'GROUPS', 'LAST SEEN', 'EXPIRES'], rows)) {
    options.print(line);
  }
  options.print(`${sessions.length} session(s)`);
}

export function sessionToJson(session: Session): Record<string, unknown> {
  return {
    id: session.id,
    user: session.user,
    groups: session.groups,
    ip: session.ip,
    tunnel_ip: session.tunnelIp ?? null,
    device: session.device,
    vdom: session.vdom ?? null,
    method: session.method,
    created: new Date(session.createdMs).toISOString(),
    last_seen: new Date(session.lastSeenMs).toISOString(),
    expires: new Date(session.expiresMs).toISOString(),
    timeout_type: session.timeoutType,
    timeout_seconds: session.timeoutSeconds,
    opened_by: session.openedBy,
    external_id: session.externalId ?? null,
  };
}
