import { flushLogs } from '@qsm/logging';

/** How long an exit waits for its last log lines to reach stdout. */
const EXIT_FLUSH_MS = 2000;

/**
 * Ends the process with `code` once its last log lines have reached stdout. When stdout does not take
 * them in time, a write to it is stuck (its reader stopped reading); Node waits for its I/O threads as
 * it exits, so process.exit would never return, and the process ends with SIGKILL instead. (As PID 1 of
 * a container the kill is ignored, and the container runtime's own stop timeout ends it.)
 */
export async function exitProcess(code: number, flushTimeoutMs = EXIT_FLUSH_MS): Promise<never> {
  if (!(await flushLogs(flushTimeoutMs))) process.kill(process.pid, 'SIGKILL');
  process.exit(code);
}

/**
 * Starts exitProcess and returns a promise that never settles: a start that ends here goes no further
 * while the last log lines flush.
 */
export function exitNow(code: number): never {
  void exitProcess(code);
  return new Promise(() => {}) as never;
}
