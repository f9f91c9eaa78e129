import { isDeepStrictEqual } from 'node:util';
import { PAYLOAD_VERSION, type PollJobFields, stableHash } from '@qsm/model';
import type { ScheduledPollData } from './poll-jobs.js';
import { type PollTargetRef, schedulerIdFor, targetOfSchedulerId } from './target-ids.js';

/**
 * Every scheduler polls at the same phase of the wall clock (`offset` ms after a multiple of `every`):
 * all proxies are polled together, at predictable times, and their points line up in time, so that
 * sums over proxies in Grafana add up. The first poll of a new scheduler is added at once (see
 * applySchedulerPlan), not one interval later.
 */
export const SCHEDULE_OFFSET_MS = 1;

/**
 * A (server, virtual proxy) to poll. A configured one is looked up in the config by the poller; a
 * discovered one carries its identity in its jobs.
 */
export interface SchedulableTarget extends PollTargetRef {
  discovered?: PollJobFields['discovered'];
}

/** A job scheduler as this product wants it to be. */
export interface DesiredScheduler {
  id: string;
  every: number;
  offset: number;
  /** The template of its jobs. */
  data: ScheduledPollData;
}

/** A job scheduler as found in Redis (the fields of BullMQ's JobSchedulerJson that matter here). */
export interface ExistingScheduler {
  key: string;
  every?: number | undefined;
  offset?: number | undefined;
  template?: { data?: unknown } | undefined;
  /**
   * Its next poll is gone from Redis, and with it every later one: BullMQ adds a scheduler's next job when
   * its current one is taken, so a lost write (a failover, a restart from an AOF that missed the last
   * second) leaves a scheduler that never polls again.
   */
  stuck?: boolean | undefined;
}

export interface SchedulerPlan {
  add: DesiredScheduler[];
  /** Schedulers whose interval or job data changed, updated in place. */
  change: DesiredScheduler[];
  /**
   * Schedulers whose phase (offset) changed, removed and added again: BullMQ keeps a scheduler's old phase
   * when only its offset changes.
   */
  move: DesiredScheduler[];
  /** Stuck schedulers, set up again as they are. */
  repair: DesiredScheduler[];
  remove: string[];
  unchanged: number;
}

/**
 * One scheduler per polled (server, virtual proxy), every `pollingInterval` ms. With `spreadMs`, each
 * target's polls happen at its own stable offset within the first `spreadMs` of the interval.
 * Schedulers come in the order of `interleaveServers`.
 */
export function desiredSchedulers(
  targets: SchedulableTarget[],
  pollingInterval: number,
  spreadMs = 0,
): DesiredScheduler[] {
  const spread = Math.min(spreadMs, pollingInterval - SCHEDULE_OFFSET_MS);
  return interleaveServers(targets).map((target) => {
    const id = schedulerIdFor(target);
    const offset = spread > 0 ? SCHEDULE_OFFSET_MS + (stableHash(id) % spread) : SCHEDULE_OFFSET_MS;
    return {
      id,
      every: pollingInterval,
      offset,
      data: {
        v: PAYLOAD_VERSION,
        serverName: target.serverName,
        virtualProxy: target.virtualProxy,
        intervalMs: pollingInterval,
        kind: 'scheduled',
        offsetMs: offset,
        ...(target.discovered ? { discovered: target.discovered } : {}),
      },
    };
  });
}

/**
 * Targets taken one server at a time, round robin: the first of every server, then the second, ...
 * Polls due at the same moment reach the pollers in the order their schedulers were added (BullMQ keeps
 * that order within a millisecond, and every next poll is added when its current one is taken), and a
 * poller works on the first POLLER_CONCURRENCY of them. In config order those would all be on one or two
 * servers, whose sockets (QPS_MAX_SOCKETS_PER_SERVER) then limit the whole cycle while the other
 * servers' sockets wait; interleaved, every server's sockets are busy from the start.
 */
export function interleaveServers<T extends { serverName: string }>(targets: T[]): T[] {
  const byServer = new Map<string, T[]>();
  for (const target of targets) {
    const list = byServer.get(target.serverName);
    if (list) list.push(target);
    else byServer.set(target.serverName, [target]);
  }
  const lists = [...byServer.values()];
  const longest = Math.max(0, ...lists.map((list) => list.length));
  const order: T[] = [];
  for (let i = 0; i < longest; i++) {
    for (const list of lists) if (i < list.length) order.push(list[i]!);
  }
  return order;
}

/**
 * What to do to make Redis match the config. Schedulers whose ids this product did not make are left
 * alone, so other users of the same prefix are safe.
 */
export function planSchedulers(desired: DesiredScheduler[], existing: ExistingScheduler[]): SchedulerPlan {
  const found = new Map(existing.filter((s) => targetOfSchedulerId(s.key)).map((s) => [s.key, s]));
  const plan: SchedulerPlan = { add: [], change: [], move: [], repair: [], remove: [], unchanged: 0 };
  for (const want of desired) {
    const have = found.get(want.id);
    found.delete(want.id);
    if (!have) plan.add.push(want);
    else if (have.offset !== want.offset) plan.move.push(want);
    else if (have.every !== want.every || !isDeepStrictEqual(have.template?.data, want.data))
      plan.change.push(want);
    else if (have.stuck) plan.repair.push(want);
    else plan.unchanged++;
  }
  plan.remove = [...found.keys()];
  return plan;
}

/** Schedulers whose settings changed, in place or moved to a new phase: one figure in the logs. */
export function changedSchedulers(plan: SchedulerPlan): DesiredScheduler[] {
  return [...plan.change, ...plan.move];
}

/** How many proxies a log line names per kind of change; the counts say how many there are in all. */
const DESCRIBED_NAMES = 10;

/**
 * What a plan does, for one log line: counts, and the first few proxies of each kind (at 10,000 proxies a
 * line naming them all would be some 300 KB).
 */
export function describePlan(plan: SchedulerPlan): string {
  const names = (list: Array<{ id: string } | string>) => {
    const named = list.slice(0, DESCRIBED_NAMES).map((s) => {
      const target = targetOfSchedulerId(typeof s === 'string' ? s : s.id);
      return target ? `${target.serverName}${target.virtualProxy}` : String(s);
    });
    const more = list.length - named.length;
    return more > 0 ? `${named.join(', ')} and ${more} more` : named.join(', ');
  };
  const changed = changedSchedulers(plan);
  const parts = [
    `${plan.add.length} added${plan.add.length ? ` (${names(plan.add)})` : ''}`,
    `${changed.length} changed${changed.length ? ` (${names(changed)})` : ''}`,
    `${plan.remove.length} removed${plan.remove.length ? ` (${names(plan.remove)})` : ''}`,
    ...(plan.repair.length ? [`${plan.repair.length} repaired (${names(plan.repair)})`] : []),
    `${plan.unchanged} unchanged`,
  ];
  return parts.join(', ');
}
