import { pino, type Logger, type LoggerOptions } from 'pino';

/** Paths pino redacts in every log line: secrets never reach our own logs. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'api_token',
  '*.api_token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'key',
  '*.key',
  'keys',
  '*.keys',
  'redis.url',
  'url_with_password',
];

export interface LoggerSettings {
  level?: string;
  /** Where JSON lines go; stderr by default so stdout stays free for command output. */
  destination?: NodeJS.WritableStream;
}

/** The root JSON logger; components take `logger.child({ component })`. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.FORTISTREAM_LOG_LEVEL ?? 'info',
    base: { app: 'fortistream' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options, (settings.destination ?? process.stderr) as pino.DestinationStream);
}

/** Removes the password from a Redis URL for display: `redis://user:***@host:port/db`. */
export function safeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid redis url>';
  }
}
