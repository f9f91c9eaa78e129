import { pino } from 'pino';

type SonicBoom = ReturnType<typeof pino.destination>;

/** Log lines held in memory while stdout does not drain; beyond this, new lines are dropped. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

let shared: SonicBoom | undefined;

/**
 * Where JSON lines go in production: fd 1, written asynchronously, one stream per process. Unlike
 * pino's default destination it never writes synchronously: a synchronous write to a stdout whose
 * reader stopped reading (a stuck log collector, a parent that died) blocks the process for good, also
 * in pino's exit and `fatal` flushes. It also holds at most MAX_BUFFERED_BYTES while stdout is stuck.
 * Exits flush with `flushLogs`, which gives up after a deadline.
 */
export function stdoutStream(): SonicBoom {
  if (!shared) {
    const stream = pino.destination({ dest: 1, sync: false, maxLength: MAX_BUFFERED_BYTES });
    // pino flushes asynchronous destinations synchronously on 'exit': that is the blocking write.
    stream.flushSync = () => {};
    // pino silences EPIPE; any other write error also means stdout is gone for good.
    stream.on('error', () => {
      stream.write = () => true;
    });
    shared = stream;
  }
  return shared;
}

/**
 * Waits until every log line written so far has reached stdout, at most `timeoutMs`. False when stdout
 * did not take them in time.
 */
export function flushLogs(timeoutMs: number): Promise<boolean> {
  const stream = shared;
  // sonic-boom's own flush() does not wait when lines are written at once (minLength 0); its `_writing`
  // flag says whether a write is still under way, and it emits `drain` when the last one is done.
  if (!stream || !(stream as unknown as { _writing: boolean })._writing) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    stream.once('drain', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
