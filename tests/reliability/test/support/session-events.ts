import type { SessionEvent, SessionEventsRecord } from '@qsm/model';
import { openQueue, QUEUE } from '@qsm/queues';
import { services } from '@qsm/testkit';
import { Redis } from 'ioredis';

/** A session event with where it happened, when, and the sink job it came in. */
export interface DeliveredEvent extends SessionEvent {
  virtualProxy: string;
  time: number;
  jobId: string;
}

/** Every session event the trackers delivered to the InfluxDB queue of a test's prefix (no sink runs). */
export async function deliveredEvents(prefix: string, url = services.redisUrl): Promise<DeliveredEvent[]> {
  const connection = new Redis(url, { maxRetriesPerRequest: 1 });
  const q = openQueue({ connection, prefix }, QUEUE.influx);
  try {
    const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    return jobs
      .filter((job) => (job?.data as { kind?: string } | undefined)?.kind === 'session_events')
      .flatMap((job) => {
        const record = job.data as SessionEventsRecord;
        return record.events.map((event) => ({
          ...event,
          virtualProxy: record.virtualProxy,
          time: record.time,
          jobId: job.id!,
        }));
      })
      .sort((a, b) => a.time - b.time || a.sessionId.localeCompare(b.sessionId));
  } finally {
    await q.close();
    connection.disconnect();
  }
}
