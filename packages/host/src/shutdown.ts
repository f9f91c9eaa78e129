import type { Logger } from '@qsm/logging';
import { exitProcess } from './exit-process.js';

export interface ShutdownSettings {
  logger: Logger;
  /** Everything the app must close, in order; must finish within `timeoutMs`. */
  stop(reason: string): Promise<void>;
  timeoutMs: number;
  /** For tests: do not call process.exit. */
  exit?: (code: number) => void;
}

/**
 * SIGTERM or SIGINT: stop taking work, let the work in flight finish (bounded by `timeoutMs`), close
 * connections, exit 0. A second signal exits at once. Returns a function that triggers the same stop.
 */
export function handleShutdownSignals(settings: ShutdownSettings): (reason: string) => Promise<void> {
  const exit = settings.exit ?? ((code: number) => void exitProcess(code));
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    if (stopping) return stopping;
    settings.logger.info({ reason, deadlineMs: settings.timeoutMs }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), settings.timeoutMs);
    });
    stopping = Promise.race([settings.stop(reason).then(() => 'done' as const), deadline])
      .then((outcome) => {
        if (outcome === 'late')
          settings.logger.warn({ deadlineMs: settings.timeoutMs }, 'shutdown deadline passed, exiting');
        else settings.logger.info('stopped');
        exit(0);
      })
      .catch((error: unknown) => {
        settings.logger.error({ err: error }, 'error while shutting down');
        exit(1);
      })
      .finally(() => clearTimeout(timer));
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      settings.logger.warn({ signal }, 'second signal: exiting now');
      exit(130);
      return;
    }
    void stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return stop;
}

/** Logs what would otherwise crash the process silently; a worker must not die for one bad answer. */
export function logProcessFaults(logger: Logger): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception: exiting');
    void exitProcess(1);
  });
}
