import { describe, expect, it } from 'vitest';
import { InfluxWriteError } from './influx-write-error.js';
import { createPointBatcher } from './point-batcher.js';

const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('batching the points of many jobs', () => {
  it('writes the lines of several jobs in one write and resolves each job after it', async () => {
    const writes: string[][] = [];
    const batcher = createPointBatcher({
      maxPoints: 100,
      flushIntervalMs: 20,
      parallelWrites: 1,
      write: async (batch) => void writes.push(batch),
    });
    await Promise.all([batcher.add(lines('a', 3)), batcher.add(lines('b', 4)), batcher.add(lines('c', 5))]);
    expect(writes).toEqual([[...lines('a', 3), ...lines('b', 4), ...lines('c', 5)]]);
  });

  it('never writes more than maxPoints lines at once, splitting a big job over several writes', async () => {
    const writes: number[] = [];
    const batcher = createPointBatcher({
      maxPoints: 10,
      flushIntervalMs: 5,
      parallelWrites: 2,
      write: async (b) => void writes.push(b.length),
    });
    await Promise.all([batcher.add(lines('a', 25)), batcher.add(lines('b', 7))]);
    expect(Math.max(...writes)).toBeLessThanOrEqual(10);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(32);
  });

  it('writes a full batch at once, without waiting for the flush interval', async () => {
    const batcher = createPointBatcher({
      maxPoints: 10,
      flushIntervalMs: 60_000,
      parallelWrites: 1,
      write: async () => {},
    });
    const started = Date.now();
    await batcher.add(lines('a', 10));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails every job of a batch when InfluxDB is unavailable', async () => {
    const batcher = createPointBatcher({
      maxPoints: 100,
      flushIntervalMs: 5,
      parallelWrites: 1,
      write: async () => {
        throw new InfluxWriteError('unavailable', 'connect ECONNREFUSED');
      },
    });
    const outcomes = await Promise.allSettled([batcher.add(lines('a', 2)), batcher.add(lines('b', 2))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('when InfluxDB rejects a batch, fails only the job it objects to', async () => {
    const writes: string[][] = [];
    const batcher = createPointBatcher({
      maxPoints: 100,
      flushIntervalMs: 5,
      parallelWrites: 1,
      write: async (batch) => {
        writes.push(batch);
        if (batch.includes('bad'))
          throw new InfluxWriteError('rejected', 'field type conflict', { status: 400, partial: true });
      },
    });
    const outcomes = await Promise.allSettled([
      batcher.add(['ok1']),
      batcher.add(['bad']),
      batcher.add(['ok2']),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('field type conflict');
    expect(writes).toEqual([['ok1', 'bad', 'ok2'], ['ok1'], ['bad'], ['ok2']]);
  });

  it('writes the groups of a rejected job apart, so that the accepted group is stored', async () => {
    const stored: string[] = [];
    const batcher = createPointBatcher({
      maxPoints: 100,
      flushIntervalMs: 5,
      parallelWrites: 1,
      // Like InfluxDB 1.x at its tag value limit: one bad point and the whole write is dropped.
      write: async (batch) => {
        if (batch.includes('new-session'))
          throw new InfluxWriteError('rejected', 'max-values-per-tag limit exceeded', {
            status: 400,
            partial: true,
          });
        stored.push(...batch);
      },
    });
    const outcome = await batcher
      .add(['summary', 'list'], ['new-session', 'old-session'])
      .catch((e: Error) => e);
    expect(outcome).toBeInstanceOf(InfluxWriteError);
    expect(stored).toEqual(['summary', 'list']);
  });

  it('flush() writes what is queued and waits for it', async () => {
    let written = 0;
    const batcher = createPointBatcher({
      maxPoints: 100,
      flushIntervalMs: 60_000,
      parallelWrites: 1,
      write: async (b) => {
        written += b.length;
      },
    });
    void batcher.add(lines('a', 3));
    await batcher.flush();
    expect(written).toBe(3);
    expect(batcher.pending).toBe(0);
  });
});
