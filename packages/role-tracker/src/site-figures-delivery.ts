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
export function createSiteIntervalScheduler(context: QueueContext, now: () => number = Date.now) {
  const queue = openQueue(context, QUEUE.track);
  return {
    async scheduleInterval(interval: PollInterval): Promise<void> {
      await queue.add('site-interval', siteIntervalJob(interval), {
        ...siteIntervalJobOptions,
        jobId: siteIntervalJobId(interval.start),
        delay: siteIntervalDelay(interval, now()),
      });
    },
    close: () => queue.close(),
  };
}
