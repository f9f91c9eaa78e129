import type { Logger } from '@qsm/logging';

/**
 * Logs a dependency's state once per change ("influxdb down: ECONNREFUSED", later "influxdb up"), not
 * once per failed attempt, so that an outage of an hour is two lines.
 */
export function createStateLog(logger: Logger, dependency: string) {
  let state: 'up' | 'down' | undefined;
  let detail = '';
  return {
    up(message = 'reachable') {
      if (state === 'up') return;
      if (state === 'down') logger.info({ dependency }, `${dependency} is back: ${message}`);
      state = 'up';
      detail = '';
    },
    down(reason: string) {
      detail = reason;
      if (state === 'down') return;
      state = 'down';
      logger.warn(
        { dependency, reason },
        `${dependency} unavailable: ${reason}; work waits in the queue and is retried`,
      );
    },
    get current(): string {
      return state === 'down' ? `down: ${detail}` : 'up';
    },
  };
}
