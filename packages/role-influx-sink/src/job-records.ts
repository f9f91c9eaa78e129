import {
  formatIssues,
  type InfluxQueueJob,
  type InfluxSinkJob,
  influxSinkGroupSchema,
  influxSinkJobSchema,
} from '@qsm/model';
import { type Job, PermanentJobError } from '@qsm/queues';

/** One poll's record of a job, checked: its job id (its own, or its id as a group member) and data. */
export type JobRecord =
  | { ok: true; id: string; record: InfluxSinkJob }
  | { ok: false; id: string; category: 'invalid_job'; message: string };

/**
 * The records a job holds, each checked on its own: the job itself, or the members of its group (see
 * groupInfluxJobs), so that one malformed member names itself and does not take the others with it. A
 * malformed group envelope is refused whole.
 */
export function readJobRecords(job: Job<InfluxQueueJob>): JobRecord[] {
  const data = job.data as { kind?: unknown } | undefined;
  if (data?.kind !== 'group') return [readRecord(job.id ?? '', job.data)];
  const group = influxSinkGroupSchema.safeParse(job.data);
  if (!group.success) throw new PermanentJobError('invalid_job', formatIssues(group.error.issues));
  return group.data.members.map((member) => readRecord(member.id, member.data));
}

function readRecord(id: string, data: unknown): JobRecord {
  const parsed = influxSinkJobSchema.safeParse(data);
  if (parsed.success) return { ok: true, id, record: parsed.data };
  return { ok: false, id, category: 'invalid_job', message: formatIssues(parsed.error.issues) };
}

/**
 * The records of a job as they are stored, unchecked: for timing its retries and counting what is given
 * up, where a malformed job (failed for good on its first try) needs no more than a best guess.
 */
export function storedRecords(job: Job<InfluxQueueJob> | undefined): unknown[] {
  const data = job?.data as { kind?: unknown; members?: unknown } | undefined;
  if (data?.kind !== 'group') return data ? [data] : [];
  return Array.isArray(data.members) ? data.members.map((m) => (m as { data?: unknown } | null)?.data) : [];
}

/** When the oldest record of a job was made: retries give up once it is older than SINK_MAX_AGE_MS. */
export function oldestRecordAt(job: Job<InfluxQueueJob> | undefined): number {
  const known = storedRecords(job)
    .map((data) => {
      const times = data as
        | Partial<{
            polledAt: number;
            failedAt: number;
            time: number;
            intervalStart: number;
            intervalMs: number;
          }>
        | undefined;
      if (times?.intervalStart !== undefined && typeof times.intervalMs === 'number') {
        return times.intervalStart + times.intervalMs;
      }
      return times?.polledAt ?? times?.failedAt ?? times?.time;
    })
    .filter((t): t is number => typeof t === 'number');
  return known.length > 0 ? Math.min(...known) : (job?.timestamp ?? Date.now());
}
