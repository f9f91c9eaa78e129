import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@qsm/logging';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real logger at debug level whose JSON lines are kept in `lines`. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ role: 'test', level: 'debug', format: 'json', destination }), lines };
}
