import sonicBoom from 'sonic-boom';

// sonic-boom is CommonJS: its class is a property of the module's default export.
const { SonicBoom } = sonicBoom;

/** Log lines held in memory while stdout does not drain; beyond this, new lines are dropped. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** What pino writes JSON lines to: a destination with `write` only. */
export interface LogDestination {
  write(line: string): void;
}

/** A log destination, and a way to wait until every line written to it so far has left the process. */
export interface AsyncLogStream {
  destination: LogDestination;
  /** True once every accepted line is written; false when `timeoutMs` passed first. */
  flush(timeoutMs: number): Promise<boolean>;
}

/**
 * Writes to `fd` asynchronously through sonic-boom, holding at most `maxBufferedBytes`. Unlike pino's
 * default destination it never writes synchronously: a synchronous write to a stdout whose reader
 * stopped reading (a stuck log collector, a parent that died) blocks the process for good. pino only
 * writes synchronously through a destination's `flushSync` (on `fatal`) and registers an exit flush
 * only for destinations it builds itself, so the destination handed to pino has `write` alone.
 * After a write error (EPIPE or any other) stdout is gone for good and lines are dropped.
 */
export function createAsyncLogStream(fd: number, maxBufferedBytes = MAX_BUFFERED_BYTES): AsyncLogStream {
  const sonic = new SonicBoom({ fd, sync: false, maxLength: maxBufferedBytes });
  let failed = false;
  // Bytes accepted by sonic-boom and not yet written: counted from its public 'write' and 'drop' events.
  let pendingBytes = 0;
  const waiters = new Set<() => void>();
  const settle = () => {
    for (const wake of waiters) wake();
    waiters.clear();
  };
  sonic.on('write', (bytes: number) => {
    pendingBytes -= bytes;
    if (pendingBytes <= 0) settle();
  });
  sonic.on('drop', (data: string) => {
    pendingBytes -= Buffer.byteLength(data);
    if (pendingBytes <= 0) settle();
  });
  sonic.on('error', () => {
    failed = true;
    settle();
  });
  return {
    destination: {
      write(line) {
        if (failed) return;
        pendingBytes += Buffer.byteLength(line);
        sonic.write(line);
      },
    },
    flush(timeoutMs) {
      if (failed || pendingBytes <= 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          resolve(false);
        }, timeoutMs);
        waiters.add(wake);
      });
    },
  };
}

let shared: AsyncLogStream | undefined;

/** Where JSON lines go in production: fd 1, written asynchronously, one stream per process. */
export function stdoutStream(): LogDestination {
  shared ??= createAsyncLogStream(1);
  return shared.destination;
}

/**
 * Waits until every log line written so far has reached stdout, at most `timeoutMs`. False when stdout
 * did not take them in time. Exits call it: it gives up after the deadline where a synchronous flush
 * would block.
 */
export function flushLogs(timeoutMs: number): Promise<boolean> {
  return shared ? shared.flush(timeoutMs) : Promise.resolve(true);
}
