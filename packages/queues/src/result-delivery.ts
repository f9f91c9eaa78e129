import { createDeliveryMarkers } from '@qsm/redis';
import { FlowProducer } from 'bullmq';
import { JOB_CATALOG, type SinkJobSpec } from './catalog.js';
import type { QueueContext } from './queue-context.js';
import { groupedMemberIds, groupInfluxJobs } from './result-groups.js';

export interface ResultDelivery {
  /**
   * Adds every job in one atomic step: all of them or none. Existing job ids are left as they are.
   * Deliveries made in the same turn of the event loop (a burst of polls finishing together) share one
   * atomic step, which saves most of the client-side cost of a Redis transaction per poll, and their
   * InfluxDB records travel as groups (groupInfluxJobs), which saves most of the queue's cost per poll.
   */
  deliver(jobs: SinkJobSpec[]): Promise<DeliveryReceipt>;
  /** Whether the record of the poll with this job id went out in a group (see DeliveryMarkers). */
  deliveredInGroup(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * What a delivery left behind besides the jobs. The jobs are in (deliver() rejects otherwise); the markers
 * of grouped records may not be: then a retried poll of such a record would be delivered a second time,
 * which the caller should count and report.
 */
export type DeliveryReceipt = { markers: 'written' } | { markers: 'not_written'; error: Error };

const MAX_JOBS_PER_STEP = 500;

export function createResultDelivery(context: QueueContext): ResultDelivery {
  const flows = new FlowProducer({ connection: context.connection, prefix: context.prefix });
  // Connection errors also surface as rejected deliver() calls; Redis's own state is logged elsewhere.
  flows.on('error', (error) => context.onError?.(error, 'flows'));
  const markers = createDeliveryMarkers(context.connection, context.prefix);
  let pending: Array<{
    jobs: SinkJobSpec[];
    resolve(receipt: DeliveryReceipt): void;
    reject(error: unknown): void;
  }> = [];
  let pendingJobs = 0;
  let scheduled = false;

  const flush = async () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    pendingJobs = 0;
    if (batch.length === 0) return;
    try {
      const jobs = groupInfluxJobs(batch.flatMap(({ jobs }) => jobs));
      await flows.addBulk(
        jobs.map((job) => ({
          name: jobName(job),
          queueName: job.queue,
          data: job.data,
          prefix: context.prefix,
          opts: { ...JOB_CATALOG[job.queue].options, jobId: job.id },
        })),
      );
      // Not in the same atomic step as the jobs (BullMQ's transaction is its own): a poller that dies
      // between the two may see a retried poll deliver a second, newer record; never a lost one.
      const receipt = await markers.mark(groupedMemberIds(jobs)).then(
        (): DeliveryReceipt => ({ markers: 'written' }),
        (error: Error): DeliveryReceipt => ({ markers: 'not_written', error }),
      );
      for (const entry of batch) entry.resolve(receipt);
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  };

  return {
    deliver(jobs) {
      if (jobs.length === 0) return Promise.resolve({ markers: 'written' });
      return new Promise<DeliveryReceipt>((resolve, reject) => {
        pending.push({ jobs, resolve, reject });
        pendingJobs += jobs.length;
        if (pendingJobs >= MAX_JOBS_PER_STEP) void flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
    deliveredInGroup: (id) => markers.has(id),
    async close() {
      await flush();
      await flows.close();
    },
  };
}

/** The job's name in Bull Board. */
function jobName(job: SinkJobSpec): string {
  switch (job.data.kind) {
    case 'group':
      return `poll-records (${job.data.members.length})`;
    case 'error':
      return 'poll-error';
    case 'track_result':
      return 'track-result';
    case 'track_retire':
      return 'track-retire';
    case 'session_events':
      return 'session-events';
    case 'site_figures':
      return 'site-figures';
    default:
      return 'poll-result';
  }
}
