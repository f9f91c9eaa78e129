import type { Logger } from '@qsm/logging';
import type { MqttPublisher } from '@qsm/mqtt';
import type { createStateLog } from '@qsm/sink';
import type { ExpiredSweeper } from './expired-sweeper.js';

/** What the sink does with the broker's state: the worker's pause and resume. */
export interface PausableWorker {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): void;
}

/**
 * Follows the broker's connection. While it is away the worker takes no new jobs, which keeps the snapshots
 * of each topic in order, and results that expire meanwhile are swept; once it is back, work resumes.
 */
export function followBroker(settings: {
  publisher: Pick<MqttPublisher, 'onStateChange'>;
  worker: PausableWorker;
  sweeper: Pick<ExpiredSweeper, 'start' | 'stop'>;
  state: ReturnType<typeof createStateLog>;
  logger: Logger;
}): void {
  const { worker, sweeper, state, logger } = settings;
  settings.publisher.onStateChange((connected, detail) => {
    if (connected) {
      state.up(detail);
      sweeper.stop();
      worker.resume();
      return;
    }
    state.down(detail);
    // Pausing fails only when the worker is closing: it takes nothing more either way.
    worker
      .pause(true)
      .catch((error: unknown) => logger.debug({ err: error }, 'pausing the MQTT worker failed'));
    sweeper.start();
  });
}
