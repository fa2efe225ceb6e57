import { deriveSessionId, SESSION_ID_PATTERN, SESSION_METHODS, type SessionOpenInput } from '../session-model.js';
import type { SessionCloseSelector } from './contracts.js';

export function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}

function validateOpen(input: SessionOpenInput): void {
  if (!SESSION_METHODS.includes(input.method)) throw new RangeError(`unknown session method ${String(input.method)}`);
  if (input.timeoutType !== 'idle' && input.timeoutType !== 'hard') {
    throw new RangeError(`timeoutType must be idle or hard, got ${String(input.timeoutType)}`);
  }
  requireInteger('timeoutSeconds', input.timeoutSeconds, 1);
  requireInteger('eventTimeMs', input.eventTimeMs, 0);
  if (input.id !== undefined && !SESSION_ID_PATTERN.test(input.id)) throw new RangeError(`bad session id ${input.id}`);
}

/** session-apply-2's values for one open: the kind, then session-open-2's ARGV[5…17]. */
export function openArgs(input: SessionOpenInput): (string | number)[] {
  validateOpen(input);
  return [
    'open',
    input.id ?? deriveSessionId(input),
    input.user,
    input.groups && input.groups.length > 0 ? JSON.stringify(input.groups) : '',
    input.ip,
    input.tunnelIp ?? '',
    input.device,
    input.vdom ?? '',
    input.method,
    input.eventTimeMs,
    input.timeoutType,
    input.timeoutSeconds,
    input.openedBy,
    input.externalId ?? '',
  ];
}

/** session-apply-2's values for one close: the kind, then session-close-2's ARGV[3…8]. */
export function closeArgs(selector: SessionCloseSelector, eventTimeMs: number, reason: string): (string | number)[] {
  requireInteger('eventTimeMs', eventTimeMs, 0);
  switch (selector.by) {
    case 'id':
      return ['close', 'id', selector.id, '', '', eventTimeMs, reason];
    case 'ip':
      return ['close', 'ip', selector.ip, selector.method ?? '', selector.device ?? '', eventTimeMs, reason];
    case 'external':
      return ['close', 'ext', selector.device, selector.method, selector.externalId, eventTimeMs, reason];
  }
}
