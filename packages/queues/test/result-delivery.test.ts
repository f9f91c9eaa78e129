import type { PollResult } from '@qsm/model';
import { DELIVERY_MARKER_TTL_MS } from '@qsm/redis';
import { cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResultDelivery, GROUP_JOB_ID_PREFIX, openQueue, QUEUE, resultJobId } from '../src/index.js';

const prefix = uniqueName('delivery');
let connection: Redis;

const result: PollResult = {
  v: 1,
  kind: 'sessions',
  serverName: 'sense1',
  serverDescription: 'd',
  hostName: 'sense1',
  serverTags: {},
  qpsHost: 'sense1:4243',
  virtualProxy: '/hdr',
  polledAt: 1,
  durationMs: 1,
  sessions: [],
};

beforeAll(() => {
  connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  connection.disconnect();
  await cleanupRedisPrefix(prefix);
});

describe('delivering a poll result to the sink queues', () => {
  it('adds it to every sink queue, once, however often the poll is retried', async () => {
    const delivery = createResultDelivery({ connection, prefix });
    const id = resultJobId({ serverName: 'sense1', virtualProxy: '/hdr' }, 1_700_000_000_000);
    expect(id).not.toContain(':');
    const jobs = [
      { queue: QUEUE.influx, id, data: result },
      { queue: QUEUE.mqtt, id, data: result },
    ] as const;
    await delivery.deliver([...jobs]);
    await delivery.deliver([...jobs]);
    for (const name of [QUEUE.influx, QUEUE.mqtt]) {
      const queue = openQueue({ connection, prefix }, name);
      expect(await queue.getWaitingCount()).toBe(1);
      expect((await queue.getJob(id))?.data).toEqual(result);
      await queue.close();
    }
    await delivery.close();
  });
});

describe('delivering the results of polls that finish together', () => {
  it('sends their InfluxDB records as one group job, and marks each poll as delivered', async () => {
    const delivery = createResultDelivery({ connection, prefix });
    const ids = ['/a', '/b', '/c'].map((vp) =>
      resultJobId({ serverName: 'sense1', virtualProxy: vp }, 1_700_000_001_000),
    );
    await Promise.all(
      ids.map((id, i) =>
        delivery.deliver([
          { queue: QUEUE.influx, id, data: { ...result, virtualProxy: `/${i}` } },
          { queue: QUEUE.mqtt, id, data: { ...result, virtualProxy: `/${i}` } },
        ]),
      ),
    );
    const influx = openQueue({ connection, prefix }, QUEUE.influx);
    const mqtt = openQueue({ connection, prefix }, QUEUE.mqtt);
    const groups = (await influx.getWaiting()).filter((j) => j.id?.startsWith(GROUP_JOB_ID_PREFIX));
    expect(groups).toHaveLength(1);
    expect(groups[0]!.name).toBe('poll-records (3)');
    expect(groups[0]!.data).toMatchObject({ kind: 'group', members: ids.map((id) => ({ id })) });
    for (const id of ids) {
      expect(await mqtt.getJob(id)).toBeDefined();
      expect(await delivery.deliveredInGroup(id)).toBe(true);
    }
    // A record that went out alone needs no marker: its own job id stops a second delivery.
    const alone = resultJobId({ serverName: 'sense1', virtualProxy: '/alone' }, 1_700_000_001_000);
    await delivery.deliver([{ queue: QUEUE.influx, id: alone, data: result }]);
    expect(await influx.getJob(alone)).toBeDefined();
    expect(await delivery.deliveredInGroup(alone)).toBe(false);
    const markerTtl = await connection.pttl(`${prefix}:qsm:delivered:${ids[0]}`);
    expect(markerTtl).toBeGreaterThan(DELIVERY_MARKER_TTL_MS - 60_000);
    await influx.close();
    await mqtt.close();
    await delivery.close();
  });
});
