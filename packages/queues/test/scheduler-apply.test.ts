import type { PollJobData } from '@qsm/model';
import { cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applySchedulerPlan,
  desiredSchedulers,
  dueTimeOf,
  listSchedulers,
  openQueue,
  planSchedulers,
  QUEUE,
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
  return jobs.map((job) => ({ id: job.id!, due: dueTimeOf(job), data: job.data }));
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
    const scheduled = (await queuedPolls('aligned')).filter((p) => p.id.startsWith('repeat:'));
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
    const first = (await queuedPolls('early')).filter((p) => p.id.includes('|first|'));
    expect(first.map((p) => p.data.virtualProxy).sort()).toEqual(['/', '/', '/hdr']);
    for (const poll of first) expect(Math.abs(poll.due - Date.now())).toBeLessThan(5_000);
  });

  it('adds no extra poll when the first aligned run is near', async () => {
    const interval = 60_000;
    const slotEnd = (Math.floor(Date.now() / interval) + 1) * interval;
    await reconcile('near', interval, 0, () => slotEnd - 10);
    expect((await queuedPolls('near')).filter((p) => p.id.includes('|first|'))).toEqual([]);
  });

  it('is a no-op the second time, for this replica or another', async () => {
    await reconcile('stable', 30_000, 5_000);
    const before = await queuedPolls('stable');
    const plan = await reconcile('stable', 30_000, 5_000);
    expect(plan).toMatchObject({ add: [], change: [], remove: [], unchanged: 3 });
    expect((await queuedPolls('stable')).map((p) => p.id).sort()).toEqual(before.map((p) => p.id).sort());
  });

  it('moves a proxy to its new phase when the spread changes, keeping one scheduler per proxy', async () => {
    const interval = 60_000;
    await reconcile('rephase', interval);
    const plan = await reconcile('rephase', interval, 20_000);
    expect(plan.change).toHaveLength(3);
    const queue = openQueue({ connection, prefix: `${prefix}:rephase` }, QUEUE.poll);
    const schedulers = await listSchedulers(queue);
    await queue.close();
    expect(schedulers).toHaveLength(3);
    const offsets = new Map(desiredSchedulers(targets, interval, 20_000).map((s) => [s.id, s.offset]));
    const scheduled = (await queuedPolls('rephase')).filter((p) => p.id.startsWith('repeat:'));
    expect(scheduled).toHaveLength(3);
    for (const poll of scheduled) {
      const id = poll.id.slice('repeat:'.length, poll.id.lastIndexOf(':'));
      expect(poll.due % interval).toBe(offsets.get(id));
    }
  });
});
