/*
 * Ids derived from the (server, virtual proxy) and the scheduled time. BullMQ forbids ":" in custom job
 * ids and sniffs colons in scheduler ids, so both parts are percent-encoded and joined with "|".
 */

const SCHEDULER_PREFIX = 'poll|';

export interface PollTargetRef {
  serverName: string;
  virtualProxy: string;
}

/** `poll|sense1|%2Fhdr`: the job scheduler of one (server, virtual proxy). */
export function schedulerIdFor(target: PollTargetRef): string {
  return `${SCHEDULER_PREFIX}${encodeURIComponent(target.serverName)}|${encodeURIComponent(target.virtualProxy)}`;
}

/** The target of a scheduler id made by schedulerIdFor, or undefined for ids this product did not make. */
export function targetOfSchedulerId(id: string): PollTargetRef | undefined {
  if (!id.startsWith(SCHEDULER_PREFIX)) return undefined;
  const parts = id.slice(SCHEDULER_PREFIX.length).split('|');
  if (parts.length !== 2) return undefined;
  try {
    return { serverName: decodeURIComponent(parts[0]!), virtualProxy: decodeURIComponent(parts[1]!) };
  } catch {
    return undefined;
  }
}

const FIRST_POLL_MARK = '|first|';

/**
 * The extra poll a new scheduler gets at once (see applySchedulerPlan): one id per scheduler and
 * interval, so replicas that apply the same plan add it once.
 */
export function firstPollJobId(schedulerId: string, at: number, every: number): string {
  return `${schedulerId}${FIRST_POLL_MARK}${Math.floor(at / every)}`;
}

/**
 * How late a poll job may start before it is skipped as stale. A scheduled poll may be up to an
 * interval late. The extra first poll exists only because the first scheduled one was more than half an
 * interval away; a quarter of an interval late, it would come too close to that one, which polls anyway.
 */
export function staleAfterMs(jobId: string | undefined, intervalMs: number): number {
  return jobId?.includes(FIRST_POLL_MARK) ? intervalMs / 4 : intervalMs;
}

/** BullMQ names scheduler iterations `repeat:<schedulerId>:<due ms>`. */
const SCHEDULED_JOB_ID = /^repeat:(.+):(\d+)$/;

export interface ScheduledJobLike {
  id?: string | undefined;
  timestamp: number;
  delay?: number;
  opts?: { delay?: number };
}

/** When this job was due: from a scheduler job's id, else its creation time plus its delay. */
export function dueTimeOf(job: ScheduledJobLike): number {
  const match = job.id ? SCHEDULED_JOB_ID.exec(job.id) : null;
  if (match) return Number(match[2]);
  return job.timestamp + (job.delay ?? job.opts?.delay ?? 0);
}

/**
 * The id of the sink jobs made from one poll: the same for every attempt of that poll, so a retried poll
 * cannot deliver its result twice (adding an existing job id is a no-op in BullMQ).
 */
export function resultJobId(target: PollTargetRef, dueAt: number): string {
  return `${schedulerIdFor(target)}|${dueAt}`;
}

/** The id of the error record of one attempt of one poll. */
export function failureJobId(target: PollTargetRef, dueAt: number, attempt: number): string {
  return `${resultJobId(target, dueAt)}|error${attempt}`;
}
