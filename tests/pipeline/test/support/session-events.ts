import type { SessionEvent, SessionEventsRecord } from '@qsm/model';
import { openQueue, QUEUE } from '@qsm/queues';
import type { Redis } from 'ioredis';

/** A session event with the record it came in: where, and when. */
export interface DeliveredEvent extends SessionEvent {
  virtualProxy: string;
  serverName: string;
  time: number;
  jobId: string;
}

type SinkQueue = typeof QUEUE.influx | typeof QUEUE.mqtt;

/** The SessionEventsRecord jobs the tracker delivered to a sink queue (no sink runs: they wait there). */
export async function sessionEventJobs(
  connection: Redis,
  prefix: string,
  queue: SinkQueue = QUEUE.influx,
): Promise<Array<{ id: string; record: SessionEventsRecord }>> {
  const q = openQueue({ connection, prefix }, queue);
  try {
    const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    return jobs
      .filter((job) => (job?.data as { kind?: string } | undefined)?.kind === 'session_events')
      .map((job) => ({ id: job.id!, record: job.data as SessionEventsRecord }));
  } finally {
    await q.close();
  }
}

/** Every event delivered to a sink queue, in event-time order. */
export async function deliveredEvents(
  connection: Redis,
  prefix: string,
  queue: SinkQueue = QUEUE.influx,
): Promise<DeliveredEvent[]> {
  const jobs = await sessionEventJobs(connection, prefix, queue);
  return jobs
    .flatMap(({ id, record }) =>
      record.events.map((event) => ({
        ...event,
        virtualProxy: record.virtualProxy,
        serverName: record.serverName,
        time: record.time,
        jobId: id,
      })),
    )
    .sort((a, b) => a.time - b.time || a.sessionId.localeCompare(b.sessionId));
}
