import { InfluxWriteError } from '@qsm/influx';
import type { Logger } from '@qsm/logging';
import { type InfluxQueueJob, sinkRecordMadeAt } from '@qsm/model';
import { type Job, PermanentJobError, RetryableJobError } from '@qsm/queues';
import { deliveryLatencyMetric } from '@qsm/sink';
import type { Registry } from 'prom-client';
import type { InfluxOutput } from './influx-output.js';
import { influxSinkMetrics } from './influx-sink-metrics.js';
import { type JobRecord, readJobRecords } from './job-records.js';
import { type RecordLineSettings, recordLines } from './record-lines.js';

export interface InfluxJobHandlerDeps {
  output: Pick<InfluxOutput, 'add'>;
  /** Read per record: a reloaded config's blacklist and error tracking apply to the next record. */
  lineSettings: () => RecordLineSettings;
  logger: Logger;
  registry: Registry;
}

/** What a completed job returns (Bull Board shows it): a record's points and age, or a group's. */
export type InfluxJobOutcome =
  | { points: number; ageMs: number }
  | { points: number; records: number; agesMs: number[] };

type RecordOutcome =
  | { ok: true; points: number; ageMs: number }
  | {
      ok: false;
      id: string;
      category: 'invalid_job' | 'influx_rejected' | 'influx_unavailable';
      message: string;
    };
type RecordProblem = Extract<RecordOutcome, { ok: false }>;

/**
 * The processor of the sink-influx queue. A job holds one poll's record, or a group of them (see
 * groupInfluxJobs). The records of a group are written together, each one's outcome its own: while
 * InfluxDB is away the whole group is retried (what was written already is written again with the same
 * timestamps, which leaves the same data); a record InfluxDB refuses, or that is malformed, fails the job
 * for good once the others are written, and the job's reason names it.
 */
export function createInfluxJobHandler(deps: InfluxJobHandlerDeps) {
  const { output, logger } = deps;
  const metrics = influxSinkMetrics(deps.registry);
  const delivery = deliveryLatencyMetric(deps.registry);

  /** Writes one poll's record; resolves once InfluxDB acknowledged it, with its points and age. */
  const writeRecord = async (read: JobRecord): Promise<RecordOutcome> => {
    if (!read.ok) return read;
    const { id, record } = read;
    const { aggregates, details } = recordLines(record, deps.lineSettings());
    const lines = aggregates.length + details.length;
    try {
      await output.add(aggregates, details);
    } catch (error) {
      if (error instanceof InfluxWriteError && error.kind === 'rejected') {
        metrics.rejected.inc(error.details.dropped ?? lines);
        logger.error(
          { jobId: id, status: error.details.status },
          `InfluxDB rejected a result: ${error.message}`,
        );
        return { ok: false, id, category: 'influx_rejected', message: error.message };
      }
      return { ok: false, id, category: 'influx_unavailable', message: (error as Error).message };
    }
    const ageMs = Date.now() - sinkRecordMadeAt(record);
    delivery.observe({ sink: 'influx' }, ageMs / 1000);
    return { ok: true, points: lines, ageMs };
  };

  return async (job: Job<InfluxQueueJob>): Promise<InfluxJobOutcome> => {
    const records = readJobRecords(job);
    const outcomes = await Promise.all(records.map(writeRecord));
    const problems = outcomes.filter((o): o is RecordProblem => !o.ok);
    const unavailable = problems.find((p) => p.category === 'influx_unavailable');
    if (unavailable) throw new RetryableJobError('influx_unavailable', unavailable.message);
    if (problems.length > 0) {
      const category = problems.some((p) => p.category === 'influx_rejected')
        ? 'influx_rejected'
        : 'invalid_job';
      throw new PermanentJobError(category, describeProblems(problems, records.length));
    }
    const written = outcomes as Array<Extract<RecordOutcome, { ok: true }>>;
    const points = written.reduce((sum, o) => sum + o.points, 0);
    if (records.length === 1) return { points, ageMs: written[0]!.ageMs };
    return { points, records: records.length, agesMs: written.map((o) => o.ageMs) };
  };
}

/** A job's failure reason: a single record's message as it is; a group's names its failed members. */
function describeProblems(problems: RecordProblem[], records: number): string {
  if (records === 1) return problems[0]!.message;
  const shown = problems.slice(0, 3).map((p) => `${p.id}: ${p.message}`);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
  return `${problems.length} of the ${records} records of this group: ${shown.join('; ')}${more}`;
}
