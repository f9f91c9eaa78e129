import type { Logger } from '@qsm/logging';
import type { Queue } from '@qsm/queues';

export interface TrackerPresenceDeps {
  /** The session-track queue. */
  queue: Pick<Queue, 'getWorkersCount' | 'getWaitingCount'>;
  logger: Pick<Logger, 'debug' | 'warn'>;
}

/**
 * With SESSION_TRACKING on, every successful poll adds a job for the tracker: without a tracker running,
 * they pile up in Redis unseen. One check says so (once until a tracker shows up), naming both fixes.
 */
export function createTrackerPresenceCheck(deps: TrackerPresenceDeps) {
  let warned = false;
  return async function check(): Promise<'tracker' | 'no_tracker' | 'unknown'> {
    try {
      const [workers, waiting] = await Promise.all([
        deps.queue.getWorkersCount(),
        deps.queue.getWaitingCount(),
      ]);
      if (workers > 0 || waiting === 0) {
        warned = false;
        return workers > 0 ? 'tracker' : 'unknown';
      }
      if (!warned) {
        deps.logger.warn(
          { waiting },
          'SESSION_TRACKING is on but no tracker takes the session-track jobs, which wait in Redis: start a tracker (apps/tracker) or set SESSION_TRACKING=false',
        );
        warned = true;
      }
      return 'no_tracker';
    } catch (error) {
      // Redis away, or CLIENT LIST not allowed: the queue gauge (qsm_queue_jobs) still shows the backlog.
      deps.logger.debug({ err: error }, 'trackers not counted');
      return 'unknown';
    }
  };
}
