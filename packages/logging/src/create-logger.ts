import { createRequire } from 'node:module';
import { redactUrlsInText } from '@qsm/net';
import { type Logger, type LoggerOptions, pino } from 'pino';
import type PinoPretty from 'pino-pretty';
import { stdoutStream } from './stdout-stream.js';

export type { Logger } from 'pino';

export interface LoggerSettings {
  /** The app's role (scheduler, poller, influx-sink, ...): on every line. */
  role: string;
  level?: string;
  /** `auto`: pretty when stdout is a terminal, JSON lines otherwise. */
  format?: 'json' | 'pretty' | 'auto';
  /** Where JSON lines go (tests pass a stream); stdout by default. */
  destination?: NodeJS.WritableStream;
}

const SECRET_KEYS = [
  'password',
  'pass',
  'token',
  'passphrase',
  'clientCertPassphrase',
  'secret',
  'authorization',
  'Authorization',
  'key',
  'cert',
  'ca',
  'pfx',
  'privateKey',
  'insertApiKey',
  'apiKey',
];

/** Paths pino blanks out: every secret-looking key at the top and up to three levels down. */
export const REDACTED_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

/** The logger of one app. Secrets are replaced by "[redacted]" wherever they appear in logged objects. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { role: settings.role, pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const format = settings.format ?? 'auto';
  const usePretty =
    format === 'pretty' || (format === 'auto' && !settings.destination && process.stdout.isTTY);
  if (usePretty) {
    // Loaded only for a terminal: production processes (JSON lines) do not carry it in memory.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(
      options,
      pretty({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }),
    );
  }
  return pino(options, settings.destination ?? stdoutStream());
}

/**
 * Errors are logged with their own typed fields (category, code, status) but without their cause's
 * object graph: an HTTP client error holds request options, agents and sockets.
 */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const out: Record<string, unknown> = { type: error.name, message: redactUrlsInText(error.message) };
  for (const field of [
    'category',
    'retryable',
    'code',
    'httpStatus',
    'url',
    'syscall',
    'problems',
  ] as const) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (value !== undefined) out[field] = value;
  }
  if (error.stack) out.stack = redactUrlsInText(error.stack);
  if (error.cause instanceof Error) out.cause = redactUrlsInText(error.cause.message);
  return out;
}
