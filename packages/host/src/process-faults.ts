import type { Logger } from '@qsm/logging';

/** Logs what would otherwise crash the process silently; a worker must not die for one bad answer. */
export function logProcessFaults(logger: Logger, exit: (code: number) => void): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception: exiting');
    exit(1);
  });
}
