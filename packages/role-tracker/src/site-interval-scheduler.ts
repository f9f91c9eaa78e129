import type { Logger } from '@qsm/logging';
import { openQueue, QUEUE, type QueueContext } from '@qsm/queues';
import {
  type PollInterval,
  siteIntervalDelay,
  siteIntervalJob,
  siteIntervalJobId,
  siteIntervalJobOptions,
} from './site-interval-jobs.js';

/** Adds interval jobs to the tracker's queue, delayed to the interval's end (see siteIntervalDelay). */
export function createSiteIntervalScheduler(
  context: QueueContext,
  now: () => number = Date.now,
  logger: Pick<Logger, 'debug'> = { debug: () => {} },
) {
  const queue = openQueue(context, QUEUE.track);
  return {
    async scheduleInterval(interval: PollInterval): Promise<void> {
      await queue.add('site-interval', siteIntervalJob(interval), {
        ...siteIntervalJobOptions,
        jobId: siteIntervalJobId(interval.start),
        delay: siteIntervalDelay(interval, now()),
      });
    },
    /** Runs a waiting interval job now; one that is running or done already is left as it is. */
    async computeNow(interval: PollInterval): Promise<void> {
      const job = await queue.getJob(siteIntervalJobId(interval.start));
      if (!job || !(await job.isDelayed())) return;
      // Another tracker may promote it between the check and this call: then it is not delayed any more.
      await job.promote().catch((error: unknown) => {
        logger.debug({ err: error, jobId: job.id }, 'interval job not promoted: it is running already');
      });
    },
    close: () => queue.close(),
  };
}
