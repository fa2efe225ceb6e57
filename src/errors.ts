/**
 * The error catalog: every error a user can see has a stable code, documented in docs/errors.md.
 * Code that fails throws `FortistreamError` with one of these codes; the CLI prints `code: message`
 * and exits with the code's exit status.
 */
export const ERROR_CATALOG = {
  FST_CONFIG_INVALID: { exit: 2, summary: 'The pipeline file does not match the schema.' },
  FST_CONFIG_UNREADABLE: { exit: 2, summary: 'The pipeline file cannot be read or is not valid YAML.' },
  FST_ARGUMENT_INVALID: { exit: 2, summary: 'A command-line option has an invalid value.' },
  FST_REDIS_UNAVAILABLE: { exit: 3, summary: 'No Redis is reachable and none could be started.' },
  FST_LISTEN_FAILED: { exit: 4, summary: 'A listener could not bind its address.' },
  FST_INPUT_UNREADABLE: { exit: 5, summary: 'An input file cannot be read.' },
  FST_SHUTDOWN_TIMEOUT: { exit: 6, summary: 'Buffered events could not be flushed before the shutdown deadline.' },
  FST_KEYRING_INVALID: { exit: 2, summary: 'A pseudonymization keyring (or API token file) cannot be read, is readable by others, or is invalid.' },
  FST_FEED_SECRET_INVALID: { exit: 2, summary: "A feed's password or token file cannot be read, is readable by others, or holds no usable secret." },
  FST_DEVICE_TOKEN_INVALID: { exit: 2, summary: 'A FortiGate or webhook token (token_file / token_env) is missing, unreadable, readable by others, empty or malformed.' },
  FST_ACTION_INVALID: { exit: 2, summary: 'An enforcement job names an unknown device or webhook, or has an invalid target.' },
  FST_ACTION_NOT_RETRYABLE: { exit: 7, summary: 'fortistream actions retry: no such job, or the job has not failed.' },
  FST_SEND_FAILED: { exit: 9, summary: 'replay --to: the listener could not be reached, or the connection failed while sending.' },
  FST_BENCH_FAILED: { exit: 10, summary: 'fortistream bench: its worker did not start, exited, or stopped writing before every event landed; or the run was interrupted.' },
  FST_PIPELINE_TEST_FAILED: { exit: 11, summary: 'fortistream check: a case of the pipeline test file did not produce what it expects.' },
  FST_WRITER_CONFLICT: { exit: 8, summary: 'Another running worker writes one of the streams this worker would write (one writer per stream).' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export class FortistreamError extends Error {
  readonly code: ErrorCode;
  /** One line per problem, for errors that carry several (config validation). */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: { details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FortistreamError';
    this.code = code;
    this.details = options.details ?? [];
  }

  get exitCode(): number {
    return ERROR_CATALOG[this.code].exit;
  }
}

export function isFortistreamError(error: unknown): error is FortistreamError {
  return error instanceof FortistreamError;
}

/** A message for any thrown value, without stack noise. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
