import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@qsm/logging';

/** One JSON log line as the app writes it (`msg`, `level` as pino's number, and the line's own fields). */
export type LogLine = Record<string, unknown> & { msg: string; level: number };

export interface CapturedLogs {
  /** A logger as the apps build it (same redaction and serializers), writing into `lines`. */
  logger: Logger;
  /** Every line logged so far, parsed, oldest first. */
  lines: LogLine[];
  /** The messages logged so far at `level` or above (`'warn'`, `'error'`, ...); all of them by default. */
  messages(level?: string): string[];
  /** Forgets the lines logged so far. */
  clear(): void;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * A logger whose lines a unit test can read: a role's decisions (a dependency down, a result given up) are
 * part of its behaviour, and the log line is what an operator sees of them. Lines are parsed as they are
 * written, so they can be read right after the call that logged them.
 */
export function captureLogs(role: string, level = 'debug'): CapturedLogs {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const logger = createLogger({ role, level, format: 'json', destination });
  return {
    logger,
    lines,
    messages(atLeast) {
      const min = atLeast ? (LEVELS[atLeast] ?? 0) : 0;
      return lines.filter((line) => line.level >= min).map((line) => line.msg);
    },
    clear() {
      lines.length = 0;
    },
  };
}
