import type { Logger } from '@qsm/logging';

export interface GiveUpLog {
  /**
   * A job given up, holding `results` results (a group of InfluxDB records holds several): counted at once,
   * logged at once or in the next summary line.
   */
  record(jobId: string | undefined, ageMs?: number, results?: number): void;
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
    counter: { inc(labels: { sink: string }, value: number): void };
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
    record(jobId, ageMs, results = 1) {
      counter.inc({ sink }, results);
      if (!timer && Date.now() >= quietUntil) {
        logger.error(
          { jobId, sink, ageMs, ...(results === 1 ? {} : { results }) },
          `gave up on ${results === 1 ? 'a result' : `a group of ${results} results`} not delivered within SINK_MAX_AGE_MS (${maxAgeMs} ms)`,
        );
        quietUntil = Date.now() + everyMs;
        return;
      }
      unlogged += results;
      timer ??= setTimeout(flush, Math.max(0, quietUntil - Date.now()));
      timer.unref();
    },
    flush,
  };
}
