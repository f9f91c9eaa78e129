import type { Logger } from '@qsm/logging';
import { openQueue, QUEUE, type QueueContext, sinkJobOptions } from '@qsm/queues';
import { FlowProducer } from 'bullmq';
import type { SiteFiguresJob } from './site-interval-handler.js';
import {
  type PollInterval,
  siteIntervalDelay,
  siteIntervalJob,
  siteIntervalJobId,
  siteIntervalJobOptions,
} from './site-interval-jobs.js';

/** Adds an interval's site figures to the sink queues in one atomic step (BullMQ keeps existing ids). */
export function createSiteFiguresDelivery(context: QueueContext) {
  const flows = new FlowProducer({ connection: context.connection, prefix: context.prefix });
  flows.on('error', (error) => context.onError?.(error, 'flows'));
  return {
    async deliver(jobs: SiteFiguresJob[]): Promise<void> {
      if (jobs.length === 0) return;
      await flows.addBulk(
        jobs.map((job) => ({
          name: 'site-figures',
          queueName: job.queue,
          data: job.data,
          prefix: context.prefix,
          opts: { ...sinkJobOptions, jobId: job.id },
        })),
      );
    },
    close: () => flows.close(),
  };
}

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
