import { describe, expect, it } from 'vitest';
import { sinkRetryDelay } from './job-options.js';

describe('sink retry delays', () => {
  const backoff = { baseMs: 1000, maxMs: 60_000, maxAgeMs: 3_600_000 };

  it('double from the base delay, with jitter, up to the cap', () => {
    const now = 10_000_000;
    const delays = [1, 2, 3, 4, 10, 30].map((attempt) => sinkRetryDelay(attempt, now, backoff, now));
    expect(delays[0]).toBeGreaterThanOrEqual(800);
    expect(delays[0]).toBeLessThanOrEqual(1200);
    expect(delays[3]).toBeGreaterThanOrEqual(6400);
    expect(delays[4]).toBeLessThanOrEqual(72_000);
    expect(delays[5]).toBeLessThanOrEqual(72_000);
  });

  it('give up (-1) once the next try would come after the maximum age', () => {
    const bornAt = 0;
    expect(sinkRetryDelay(1, bornAt, backoff, 3_000_000)).toBeGreaterThan(0);
    expect(sinkRetryDelay(1, bornAt, backoff, 3_600_000)).toBe(-1);
  });
});
