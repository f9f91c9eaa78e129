/*
 * This product's own ids, derived from the (server, virtual proxy) and the time a poll was due. BullMQ
 * forbids ":" in custom job ids and sniffs colons in scheduler ids, so both parts are percent-encoded and
 * joined with "|". Nothing here reads an id that BullMQ made.
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
