import { z } from 'zod';
import {
  type PAYLOAD_VERSION,
  payloadVersionSchema,
  pollFailureSchema,
  pollResultSchema,
  repositoryFailureSchema,
} from './payloads.js';
import { sessionEventsRecordSchema, siteFiguresRecordSchema } from './tracking.js';

/*
 * What the sink queues carry. Apart from payloads.ts, because the tracker's records (tracking.ts) are built
 * on the poll payloads and are sink records too: one file importing both keeps the modules acyclic.
 */

export const influxSinkJobSchema = z.discriminatedUnion('kind', [
  pollResultSchema,
  pollFailureSchema,
  repositoryFailureSchema,
  sessionEventsRecordSchema,
  siteFiguresRecordSchema,
]);
/**
 * One record for InfluxDB: a poll's result or failure, a failed read of the repository, or the tracker's
 * session events or site figures.
 */
export type InfluxSinkJob = z.output<typeof influxSinkJobSchema>;

/**
 * Records of several polls that one poller delivered together, as one job of the InfluxDB queue (see
 * groupInfluxJobs). Only the envelope is checked here: the sink checks each member on its own, so that
 * one malformed member names itself and does not take the others with it.
 */
export const influxSinkGroupSchema = z.object({
  v: payloadVersionSchema,
  kind: z.literal('group'),
  members: z.array(z.object({ id: z.string(), data: z.unknown() })).min(1),
});
export interface InfluxSinkGroup {
  v: typeof PAYLOAD_VERSION;
  kind: 'group';
  /** Each member's own job id (what it would have had alone) and record. */
  members: Array<{ id: string; data: InfluxSinkJob }>;
}

/** What a job of the InfluxDB queue carries: one poll's record, or a group of them. */
export type InfluxQueueJob = InfluxSinkJob | InfluxSinkGroup;

/** One record for the broker: a poll's sessions, or the tracker's session events or site figures. */
export const mqttSinkJobSchema = z.discriminatedUnion('kind', [
  pollResultSchema,
  sessionEventsRecordSchema,
  siteFiguresRecordSchema,
]);
export type MqttSinkJob = z.output<typeof mqttSinkJobSchema>;

/**
 * When a sink record was made, for its age (SINK_MAX_AGE_MS, delivery latency): a poll's time, a
 * failure's, the poll time of session events, the end of a site figures' interval (they exist from then).
 */
export function sinkRecordMadeAt(record: InfluxSinkJob): number {
  switch (record.kind) {
    case 'sessions':
      return record.polledAt;
    case 'error':
    case 'repository_error':
      return record.failedAt;
    case 'session_events':
      return record.time;
    case 'site_figures':
      return record.intervalStart + record.intervalMs;
  }
}
