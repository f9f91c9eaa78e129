import { randomUUID } from 'node:crypto';
import { type InfluxSinkJob, PAYLOAD_VERSION } from '@qsm/model';
import { QUEUE, type SinkJobSpec } from './catalog.js';

export interface GroupLimits {
  /** Records of at most this many polls in one group. */
  maxMembers: number;
  /** A group stops growing at this many sessions; a poll with more travels alone. */
  maxSessions: number;
}

/**
 * About one InfluxDB write's worth (Butler SOS's default `maxBatchSize` is 1,000 points): a group is written
 * in one or two batches, and a large group never holds many results back behind a slow one.
 */
export const RESULT_GROUP_LIMITS: GroupLimits = { maxMembers: 50, maxSessions: 1000 };

/** The prefix of a group's job id; the rest is random, as no member's id may stand for the group. */
export const GROUP_JOB_ID_PREFIX = 'group|';

/**
 * Turns the InfluxDB jobs of one delivery into groups: each group is one BullMQ job instead of one per
 * poll, because the queue's cost per job (a Lua script to take it, one to finish it, in Redis and in the
 * sink) was most of what the InfluxDB sink spent per point. A group of one stays a plain job with its own
 * id. The MQTT and track jobs are left alone: each is its own message anyway. A job id that occurs twice in one
 * delivery is kept once, as BullMQ would keep it.
 */
export function groupInfluxJobs(
  jobs: SinkJobSpec[],
  limits: GroupLimits = RESULT_GROUP_LIMITS,
): SinkJobSpec[] {
  const out: SinkJobSpec[] = [];
  const seen = new Set<string>();
  let open: Array<{ id: string; data: InfluxSinkJob }> = [];
  let openSessions = 0;
  const close = () => {
    if (open.length === 1) out.push({ queue: QUEUE.influx, ...open[0]! });
    else if (open.length > 1) {
      out.push({
        queue: QUEUE.influx,
        id: `${GROUP_JOB_ID_PREFIX}${randomUUID()}`,
        data: { v: PAYLOAD_VERSION, kind: 'group', members: open },
      });
    }
    open = [];
    openSessions = 0;
  };
  for (const job of jobs) {
    if (job.queue !== QUEUE.influx) {
      out.push(job);
      continue;
    }
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const data = job.data;
    const sessions = data.kind === 'sessions' ? data.sessions.length : 1;
    // Only poll records are grouped: the tracker's events and figures travel on their own.
    const pollRecord = data.kind === 'sessions' || data.kind === 'error' || data.kind === 'repository_error';
    if (!pollRecord || sessions >= limits.maxSessions) {
      out.push(job);
      continue;
    }
    if (open.length >= limits.maxMembers || openSessions + sessions > limits.maxSessions) close();
    open.push({ id: job.id, data });
    openSessions += sessions;
  }
  close();
  return out;
}

/** The ids of the polls whose records went out in a group (for the delivery markers). */
export function groupedMemberIds(jobs: SinkJobSpec[]): string[] {
  return jobs.flatMap((job) =>
    job.queue === QUEUE.influx && job.data.kind === 'group' ? job.data.members.map((m) => m.id) : [],
  );
}
