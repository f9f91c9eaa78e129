import type { Logger } from '@qsm/logging';

export interface GiveUpLog {
  /** One result given up: counted at once, logged at once or in the next summary line. */
  record(jobId: string | undefined, ageMs?: number): void;
  /** Logs what is not logged yet (at shutdown). */
  flush(): void;
}

/**
 * Results a sink gives up on (not delivered within SINK_MAX_AGE_MS of their poll). Each is
 * counted in `qsm_sink_results_given_up_total`; the log names the first at once, then says at most once
 * per `everyMs` how many more there were: after an outage of a day a sink may give up on millions of
 * results within minutes, and one line each would bury everything else in its log.
 */
export function createGiveUpLog(
  logger: Logger,
  settings: {
    sink: 'influx' | 'mqtt';
    maxAgeMs: number;
    counter: { inc(labels: { sink: string }): void };
    everyMs?: number;
  },
): GiveUpLog {
  const { sink, maxAgeMs, counter } = settings;
  const everyMs = settings.everyMs ?? 10_000;
  let quietUntil = 0;
  let unlogged = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (unlogged === 0) return;
    logger.error(
      { sink, results: unlogged },
      `gave up on ${unlogged} more result${unlogged === 1 ? '' : 's'} not delivered within SINK_MAX_AGE_MS (${maxAgeMs} ms)`,
    );
    unlogged = 0;
    quietUntil = Date.now() + everyMs;
  };

  return {
    record(jobId, ageMs) {
      counter.inc({ sink });
      if (!timer && Date.now() >= quietUntil) {
        logger.error(
          { jobId, sink, ageMs },
          `gave up on a result not delivered within SINK_MAX_AGE_MS (${maxAgeMs} ms)`,
        );
        quietUntil = Date.now() + everyMs;
        return;
      }
      unlogged++;
      timer ??= setTimeout(flush, Math.max(0, quietUntil - Date.now()));
      timer.unref();
    },
    flush,
  };
}
