import { NO_EXPIRY_SECONDS, type SessionsSettings, type TimeoutSettings } from '../rules-schema.js';
import type { SessionMethod, TimeoutType } from '../session-model.js';

export interface ResolvedTimeout {
  readonly type: TimeoutType;
  readonly seconds: number;
}

function resolveTimeoutSettings(settings: TimeoutSettings): ResolvedTimeout {
  return {
    type: settings.type === 'idle-timeout' ? 'idle' : 'hard',
    // 0 is the FortiGate's "no timeout"; the state layer needs ≥ 1 s, so it becomes 30 days.
    seconds: settings.seconds === 0 ? NO_EXPIRY_SECONDS : settings.seconds,
  };
}

/** The timeout a session gets: the first listed group it is in, else its method's, else the global one. */
export function createTimeoutResolver(
  sessions: SessionsSettings | undefined,
): (method: SessionMethod, groups: readonly string[]) => ResolvedTimeout {
  const defaultTimeout = resolveTimeoutSettings(sessions?.timeout ?? { type: 'idle-timeout', seconds: 300 });
  const methodTimeouts = new Map<SessionMethod, ResolvedTimeout>();
  for (const [method, settings] of Object.entries(sessions?.methods ?? {})) {
    if (settings !== undefined) methodTimeouts.set(method as SessionMethod, resolveTimeoutSettings(settings));
  }
  const groupTimeouts: [string, ResolvedTimeout][] = Object.entries(sessions?.groups ?? {}).map(([group, settings]) => [
    group,
    resolveTimeoutSettings(settings),
  ]);

  return function resolveTimeout(method: SessionMethod, groups: readonly string[]): ResolvedTimeout {
    if (groups.length > 0) {
      for (const [group, timeout] of groupTimeouts) if (groups.includes(group)) return timeout;
    }
    return methodTimeouts.get(method) ?? defaultTimeout;
  };
}
