/**
 * Error codes the state scripts return (a negative integer instead of their normal table reply),
 * turned into typed errors by `checkScriptReply`. Stable codes: documented in docs/errors.md.
 */
export enum StateScriptErrorCode {
  /** An argument is missing or not a number where a number is expected (a bug in the caller). */
  BadArgument = -1,
  /** `timeout_type` is neither `idle` nor `hard`. */
  BadTimeoutType = -2,
  /** A close/revoke selector mode the script does not know. */
  BadMode = -3,
  /** Counter: the window is not a positive multiple of the bucket size. */
  BadWindow = -4,
}

const MESSAGES: Readonly<Record<StateScriptErrorCode, string>> = {
  [StateScriptErrorCode.BadArgument]: 'bad argument',
  [StateScriptErrorCode.BadTimeoutType]: 'timeout type must be idle or hard',
  [StateScriptErrorCode.BadMode]: 'unknown selector mode',
  [StateScriptErrorCode.BadWindow]: 'window must be a positive multiple of the bucket size',
};

export class StateScriptError extends Error {
  override readonly name = 'StateScriptError';
  constructor(
    readonly code: StateScriptErrorCode,
    readonly script: string,
  ) {
    super(`${script}: ${MESSAGES[code]} (code ${code})`);
  }
}

function isErrorCode(value: number): value is StateScriptErrorCode {
  return Object.prototype.hasOwnProperty.call(MESSAGES, value);
}

/** Throws the typed error when a script replied with an error code; returns the reply otherwise. */
export function checkScriptReply(script: string, reply: unknown): unknown {
  if (typeof reply === 'number' && reply < 0) {
    if (isErrorCode(reply)) throw new StateScriptError(reply, script);
    throw new Error(`${script}: unknown error code ${reply}`);
  }
  return reply;
}
