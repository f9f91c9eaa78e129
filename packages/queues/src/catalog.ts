import {
  formatIssues,
  type InfluxQueueJob,
  influxSinkGroupSchema,
  influxSinkJobSchema,
  type MqttSinkJob,
  mqttSinkJobSchema,
  type SessionEventsRecord,
  sessionEventsRecordSchema,
  type TrackJob,
  trackJobSchema,
} from '@qsm/model';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import { type DiscoveryJobData, discoveryJobSchema } from './discovery-jobs.js';
import { PermanentJobError } from './job-errors.js';
import { discoveryJobOptions, pollJobOptions, sinkJobOptions, trackJobOptions } from './job-options.js';
import { type PollJobData, pollJobSchema } from './poll-jobs.js';

/*
 * The job catalog: every queue of the product with the schema of its jobs and their default options, shared
 * by the producers (scheduler, poller) and the consumers (poller, sinks). Apps name queues through QUEUE,
 * never with string literals.
 */

export const QUEUE = {
  /** One job per (server, virtual proxy) per interval, from the job schedulers. */
  poll: 'poll',
  /** Poll results and poll errors on their way to InfluxDB. */
  influx: 'sink-influx',
  /** Poll results on their way to the MQTT broker. */
  mqtt: 'sink-mqtt',
  /** Reads of the Qlik repository that find the virtual proxies to poll (when discovery is on). */
  discovery: 'discovery',
  /**
   * Successful polls (sessions' identities only) and retired proxies on their way to the tracker, which
   * derives session start and end events from them (when SESSION_TRACKING is on).
   */
  track: 'session-track',
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export const ALL_QUEUES: readonly QueueName[] = [
  QUEUE.poll,
  QUEUE.influx,
  QUEUE.mqtt,
  QUEUE.discovery,
  QUEUE.track,
];

/** What each queue's jobs carry. */
export interface QueueJobs {
  [QUEUE.poll]: PollJobData;
  [QUEUE.influx]: InfluxQueueJob | SessionEventsRecord;
  [QUEUE.mqtt]: MqttSinkJob | SessionEventsRecord;
  [QUEUE.discovery]: DiscoveryJobData;
  [QUEUE.track]: TrackJob;
}

interface CatalogEntry {
  /** Checks a job's data where the consumer takes it (a job of another release, or edited in Redis). */
  schema: z.ZodType;
  options: JobsOptions;
}

export const JOB_CATALOG = {
  [QUEUE.poll]: { schema: pollJobSchema, options: pollJobOptions },
  // A group's members are checked one by one by the sink, so that one bad member does not hide the others.
  [QUEUE.influx]: {
    schema: z.union([influxSinkJobSchema, influxSinkGroupSchema, sessionEventsRecordSchema]),
    options: sinkJobOptions,
  },
  [QUEUE.mqtt]: { schema: z.union([mqttSinkJobSchema, sessionEventsRecordSchema]), options: sinkJobOptions },
  [QUEUE.discovery]: { schema: discoveryJobSchema, options: discoveryJobOptions },
  [QUEUE.track]: { schema: trackJobSchema, options: trackJobOptions },
} as const satisfies Record<QueueName, CatalogEntry>;

/** A job for the tracker, with the id of the poll it comes from (or of the proxy's retirement). */
export type TrackJobSpec = { queue: typeof QUEUE.track; id: string; data: TrackJob };

/**
 * One job of a poll's delivery (a sink queue's, or the tracker's), with the id that keeps a retried poll
 * from adding it twice.
 */
export type SinkJobSpec =
  | { queue: typeof QUEUE.influx; id: string; data: QueueJobs[typeof QUEUE.influx] }
  | { queue: typeof QUEUE.mqtt; id: string; data: QueueJobs[typeof QUEUE.mqtt] }
  | TrackJobSpec;

/**
 * The data of a job of `queue`, checked against the catalog's schema; a job that does not fit (another
 * release's, or edited in Redis) fails for good as `invalid_job`, naming every field that is wrong.
 */
export function parseJobData<Q extends QueueName>(queue: Q, data: unknown): QueueJobs[Q] {
  const parsed = JOB_CATALOG[queue].schema.safeParse(data);
  if (!parsed.success) throw new PermanentJobError('invalid_job', formatIssues(parsed.error.issues));
  return parsed.data as QueueJobs[Q];
}
