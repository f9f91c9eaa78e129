import type { Logger } from '@qsm/logging';
import { type Queue, removeExpiredJobs } from '@qsm/queues';
import type { GiveUpLog } from '@qsm/sink';

export interface ExpiredSweeper {
  /** Sweeps every interval until stop(); starting twice changes nothing. */
  start(): void;
  stop(): void;
  /** One sweep: removes the expired results and records each as given up. */
  sweep(): Promise<void>;
}

/**
 * While the broker is away the worker takes nothing, and results would pile up in Redis for as long as
 * the outage lasts: those past SINK_MAX_AGE_MS (given up when taken anyway) are removed as they expire.
 * A sweep that fails is tried again at the next interval.
 */
export function createExpiredSweeper(settings: {
  queue: Queue;
  maxAgeMs: number;
  givenUp: Pick<GiveUpLog, 'record'>;
  logger: Logger;
  everyMs?: number;
}): ExpiredSweeper {
  const { queue, maxAgeMs, givenUp, logger } = settings;
  const everyMs = settings.everyMs ?? Math.min(60_000, Math.max(1000, Math.round(maxAgeMs / 10)));
  let timer: NodeJS.Timeout | undefined;
  let sweeping = false;

  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const id of await removeExpiredJobs(queue, maxAgeMs)) givenUp.record(id);
    } catch (error) {
      logger.debug({ err: error }, 'removing expired MQTT results failed; trying again later');
    } finally {
      sweeping = false;
    }
  };

  return {
    start() {
      timer ??= setInterval(() => void sweep(), everyMs);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    sweep,
  };
}
