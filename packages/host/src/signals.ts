import type { Logger } from '@qsm/logging';
import type { AppStop } from './app-stop.js';

/** SIGTERM or SIGINT stops the app; a second one, while it stops, exits at once (130). */
export function stopOnSignals(appStop: AppStop, logger: Logger, exit: (code: number) => void): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (appStop.stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(130);
      return;
    }
    void appStop.stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
