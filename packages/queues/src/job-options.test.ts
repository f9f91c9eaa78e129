import { describe, expect, it } from 'vitest';
import { dueTimeOf, failureJobId, resultJobId, targetOfSchedulerId } from './job-ids.js';
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

describe('job ids', () => {
  it("take a scheduler job's due time from its id", () => {
    expect(dueTimeOf({ id: 'repeat:poll|sense1|%2Fhdr:1795854126637', timestamp: 5 })).toBe(1795854126637);
    expect(dueTimeOf({ id: 'other', timestamp: 1000, delay: 500 })).toBe(1500);
  });

  it('derive sink job ids from the poll, without colons, one error record per attempt', () => {
    const target = { serverName: 'sense:1', virtualProxy: '/hdr' };
    expect(resultJobId(target, 1000)).toBe('poll|sense%3A1|%2Fhdr|1000');
    expect(failureJobId(target, 1000, 2)).toBe('poll|sense%3A1|%2Fhdr|1000|error2');
    expect(targetOfSchedulerId('poll|sense%3A1|%2Fhdr')).toEqual(target);
    expect(targetOfSchedulerId('nightly')).toBeUndefined();
  });
});
