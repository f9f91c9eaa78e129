import { cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteIntervals, SITE_INTERVAL_DONE_TTL_MS, siteSummaryTtlMs } from '../src/index.js';

const prefix = uniqueName('site-intervals');
let connection: Redis;

beforeAll(() => {
  connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  connection.disconnect();
  await cleanupRedisPrefix(prefix);
});

const interval = { start: 1_800_000_000_000, ms: 30_000 };

describe("an interval's summaries", () => {
  it('keep one summary per proxy, the latest poll of the interval winning whatever the order', async () => {
    const intervals = createSiteIntervals(connection, prefix);
    expect(await intervals.record(interval, 'poll|a|%2F', interval.start + 10, 'a-second')).toEqual({
      written: true,
      reported: 1,
    });
    expect(await intervals.record(interval, 'poll|a|%2F', interval.start + 5, 'a-first')).toEqual({
      written: false,
      reported: 1,
    });
    // The same poll again (a retried job) is written again, with the same value.
    expect((await intervals.record(interval, 'poll|a|%2F', interval.start + 10, 'a-second')).written).toBe(
      true,
    );
    expect(await intervals.record(interval, 'poll|b|%2Fhdr', interval.start + 7, '{"x":"a|b"}')).toEqual({
      written: true,
      reported: 2,
    });
    expect((await intervals.reported(interval.start)).sort()).toEqual(['poll|a|%2F', 'poll|b|%2Fhdr']);
    expect(await intervals.summaries(interval.start)).toEqual(
      new Map([
        ['poll|a|%2F', 'a-second'],
        ['poll|b|%2Fhdr', '{"x":"a|b"}'],
      ]),
    );
    expect(await intervals.summaries(interval.start - interval.ms)).toEqual(new Map());
  });

  it('expire after three intervals, and never sooner than a minute', async () => {
    const intervals = createSiteIntervals(connection, prefix);
    const long = { start: 3_000_000, ms: 600_000 };
    await intervals.record(long, 'poll|a|%2F', long.start, 'x');
    const ttl = await connection.pttl(`${prefix}:qsm:site:${long.start}`);
    expect(ttl).toBeGreaterThan(1_790_000);
    expect(ttl).toBeLessThanOrEqual(1_800_000);
    expect(siteSummaryTtlMs(1000)).toBe(60_000);
  });
});

describe("claiming an interval's figures", () => {
  it('lets the first caller win, hands a later one the undelivered outbox, then nothing once delivered', async () => {
    const intervals = createSiteIntervals(connection, prefix);
    const start = interval.start + interval.ms;
    expect(await intervals.claim(start, 'records-of-first')).toEqual({ outcome: 'won' });
    expect(await intervals.claim(start, 'records-of-second')).toEqual({
      outcome: 'undelivered',
      outbox: 'records-of-first',
    });
    await intervals.delivered(start);
    expect(await intervals.claim(start, 'records-of-third')).toEqual({ outcome: 'delivered' });
    const markerTtl = await connection.pttl(`${prefix}:qsm:site:${start}:done`);
    expect(markerTtl).toBeGreaterThan(SITE_INTERVAL_DONE_TTL_MS - 60_000);
    expect(await connection.exists(`${prefix}:qsm:site:${start}:outbox`)).toBe(0);
  });

  it('has exactly one winner among callers on several connections at once', async () => {
    const connections = Array.from({ length: 8 }, () => new Redis(services.redisUrl));
    try {
      const start = interval.start + 2 * interval.ms;
      const claims = await Promise.all(
        connections.map((c, i) => createSiteIntervals(c, prefix).claim(start, `records-${i}`)),
      );
      const winners = claims.flatMap((claim, i) => (claim.outcome === 'won' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const claim of claims)
        if (claim.outcome !== 'won')
          expect(claim).toEqual({ outcome: 'undelivered', outbox: `records-${winners[0]}` });
    } finally {
      for (const c of connections) c.disconnect();
    }
  });
});

describe('the latest figures', () => {
  it('are those of the latest interval written, whatever the order of writing', async () => {
    const intervals = createSiteIntervals(connection, prefix);
    expect(await intervals.latest()).toBeNull();
    await intervals.setLatest(2000, 'second');
    await intervals.setLatest(1000, 'first, late');
    expect(await intervals.latest()).toBe('second');
    await intervals.setLatest(2000, 'second again');
    await intervals.setLatest(3000, 'third');
    expect(await intervals.latest()).toBe('third');
  });
});
