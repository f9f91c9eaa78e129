import { cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applySchedulerPlan,
  desiredSchedulers,
  listSchedulers,
  openQueue,
  type PollJobData,
  planSchedulers,
  pollDueAt,
  QUEUE,
  schedulerOfJobId,
} from '../src/index.js';

const prefix = uniqueName('schedapply');
let connection: Redis;

beforeAll(() => {
  connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  connection.disconnect();
  await cleanupRedisPrefix(prefix);
});

const targets = [
  { serverName: 'sense1', virtualProxy: '/' },
  { serverName: 'sense1', virtualProxy: '/hdr' },
  { serverName: 'sense2', virtualProxy: '/' },
];

/** Poll jobs waiting or delayed in the queue, with the time each is due. */
async function queuedPolls(queueName: string) {
  const queue = openQueue<PollJobData>({ connection, prefix: `${prefix}:${queueName}` }, QUEUE.poll);
  const jobs = await queue.getJobs(['waiting', 'delayed']);
  await queue.close();
  return jobs.map((job) => ({
    id: job.id!,
    due: pollDueAt(job),
    data: job.data,
    scheduler: job.repeatJobKey,
  }));
}

async function reconcile(queueName: string, interval: number, spreadMs = 0, now?: () => number) {
  const queue = openQueue({ connection, prefix: `${prefix}:${queueName}` }, QUEUE.poll);
  const plan = planSchedulers(desiredSchedulers(targets, interval, spreadMs), await listSchedulers(queue));
  await applySchedulerPlan(queue, plan, now);
  await queue.close();
  return plan;
}

describe('applying a scheduler plan to BullMQ', () => {
  it('schedules every proxy at the same moment of each interval, aligned to the clock', async () => {
    const interval = 60_000;
    await reconcile('aligned', interval);
    const scheduled = (await queuedPolls('aligned')).filter((p) => p.data.kind === 'scheduled');
    expect(scheduled).toHaveLength(3);
    for (const poll of scheduled) expect(poll.due % interval).toBe(1);
    expect(new Set(scheduled.map((p) => p.due)).size).toBe(1);
  });

  it('queues the polls of one moment a server at a time, as they will be handed to the pollers', async () => {
    const interval = 60_000;
    await reconcile('order', interval);
    const queue = openQueue<PollJobData>({ connection, prefix: `${prefix}:order` }, QUEUE.poll);
    // Ascending score: the order in which BullMQ promotes delayed jobs that are due at the same time.
    const delayed = await queue.getJobs(['delayed'], 0, -1, true);
    await queue.close();
    expect(delayed.map((job) => `${job.data.serverName}${job.data.virtualProxy}`)).toEqual([
      'sense1/',
      'sense2/',
      'sense1/hdr',
    ]);
  });

  it('polls a new proxy at once when its first aligned run is more than half an interval away', async () => {
    const interval = 60_000;
    const slotStart = Math.floor(Date.now() / interval) * interval;
    // Pretend it is just past the start of a slot: the next aligned run is almost an interval away.
    await reconcile('early', interval, 0, () => slotStart + 10);
    const first = (await queuedPolls('early')).filter((p) => p.data.kind === 'first');
    expect(first.map((p) => p.data.virtualProxy).sort()).toEqual(['/', '/', '/hdr']);
    for (const poll of first) expect(poll.due).toBe(slotStart + 10);
  });

  it('adds no extra poll when the first aligned run is near', async () => {
    const interval = 60_000;
    const slotEnd = (Math.floor(Date.now() / interval) + 1) * interval;
    await reconcile('near', interval, 0, () => slotEnd - 10);
    expect((await queuedPolls('near')).filter((p) => p.data.kind === 'first')).toEqual([]);
  });

  it('is a no-op the second time, for this replica or another', async () => {
    await reconcile('stable', 30_000, 5_000);
    const before = await queuedPolls('stable');
    const plan = await reconcile('stable', 30_000, 5_000);
    expect(plan).toMatchObject({ add: [], change: [], remove: [], unchanged: 3 });
    expect((await queuedPolls('stable')).map((p) => p.id).sort()).toEqual(before.map((p) => p.id).sort());
  });

  it('updates schedulers in place when the interval changes: one poll each, aligned to the new interval', async () => {
    await reconcile('interval', 60_000);
    const plan = await reconcile('interval', 30_000);
    expect(plan.change).toHaveLength(3);
    const queue = openQueue({ connection, prefix: `${prefix}:interval` }, QUEUE.poll);
    expect(await listSchedulers(queue)).toHaveLength(3);
    await queue.close();
    const scheduled = (await queuedPolls('interval')).filter((p) => p.data.kind === 'scheduled');
    expect(scheduled.map((p) => p.scheduler).sort()).toEqual(
      desiredSchedulers(targets, 30_000)
        .map((s) => s.id)
        .sort(),
    );
    for (const poll of scheduled) {
      expect(poll.due % 30_000).toBe(1);
      expect(poll.data.intervalMs).toBe(30_000);
    }
  });

  it('moves a proxy to its new phase when the spread changes, keeping one scheduler per proxy', async () => {
    const interval = 60_000;
    await reconcile('rephase', interval);
    const plan = await reconcile('rephase', interval, 20_000);
    expect(plan.move).toHaveLength(3);
    const queue = openQueue({ connection, prefix: `${prefix}:rephase` }, QUEUE.poll);
    const schedulers = await listSchedulers(queue);
    await queue.close();
    expect(schedulers).toHaveLength(3);
    const offsets = new Map(desiredSchedulers(targets, interval, 20_000).map((s) => [s.id, s.offset]));
    const scheduled = (await queuedPolls('rephase')).filter((p) => p.data.kind === 'scheduled');
    expect(scheduled).toHaveLength(3);
    for (const poll of scheduled) expect(poll.due % interval).toBe(offsets.get(poll.scheduler!));
  });
});

describe('listing the job schedulers', () => {
  it('finds a scheduler stuck when its next poll is gone, by the scheduler its jobs name', async () => {
    await reconcile('stuck', 60_000);
    const queue = openQueue<PollJobData>({ connection, prefix: `${prefix}:stuck` }, QUEUE.poll);
    const lost = (await queue.getJobs(['delayed'])).find((job) => job.data.virtualProxy === '/hdr')!;
    // As a lost write would leave it: BullMQ refuses to remove a scheduler's job itself.
    await connection.multi().zrem(queue.keys.delayed!, lost.id!).del(queue.toKey(lost.id!)).exec();
    const schedulers = await listSchedulers(queue);
    await queue.close();
    expect(schedulers.filter((s) => s.stuck).map((s) => s.key)).toEqual([lost.repeatJobKey]);
    expect(lost.repeatJobKey).toBe('poll|sense1|%2Fhdr');
  });

  it('knows the scheduler of every pending poll from its job id alone', async () => {
    const plan = await reconcile('ids', 60_000, 0, () => Date.now());
    const queue = openQueue({ connection, prefix: `${prefix}:ids` }, QUEUE.poll);
    const ids = await queue.getRanges(['delayed', 'waiting'], 0, -1);
    await queue.close();
    const scheduled = ids.map(schedulerOfJobId).filter((key) => key !== undefined);
    expect(scheduled.sort()).toEqual(plan.add.map((s) => s.id).sort());
  });

  it('asks a pending job which scheduler it comes from when its id does not say', async () => {
    await reconcile('renamed', 60_000);
    const queue = openQueue<PollJobData>({ connection, prefix: `${prefix}:renamed` }, QUEUE.poll);
    const job = (await queue.getJobs(['delayed'])).find((j) => j.data.virtualProxy === '/hdr')!;
    const score = await connection.zscore(queue.keys.delayed!, job.id!);
    // As a BullMQ that names its jobs otherwise would leave it.
    await connection
      .multi()
      .zrem(queue.keys.delayed!, job.id!)
      .zadd(queue.keys.delayed!, score!, 'renamed-job')
      .rename(queue.toKey(job.id!), queue.toKey('renamed-job'))
      .exec();
    const schedulers = await listSchedulers(queue);
    await queue.close();
    expect(schedulers).toHaveLength(3);
    expect(schedulers.filter((s) => s.stuck)).toEqual([]);
  });
});
