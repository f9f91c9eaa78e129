import { describe, expect, it } from 'vitest';
import { dueTimeOf, firstPollJobId, schedulerIdFor, staleAfterMs } from './job-ids.js';

describe('poll job ids', () => {
  const scheduler = schedulerIdFor({ serverName: 'sense1', virtualProxy: '/hdr' });

  it('give one extra first poll per scheduler and interval', () => {
    expect(firstPollJobId(scheduler, 30_500, 30_000)).toBe(firstPollJobId(scheduler, 59_999, 30_000));
    expect(firstPollJobId(scheduler, 30_500, 30_000)).not.toBe(firstPollJobId(scheduler, 60_000, 30_000));
    expect(firstPollJobId(scheduler, 30_500, 30_000)).not.toContain(':');
  });

  it('let a scheduled poll be up to an interval late, an extra first poll only a quarter of one', () => {
    expect(staleAfterMs(`repeat:${scheduler}:60000`, 30_000)).toBe(30_000);
    expect(staleAfterMs(firstPollJobId(scheduler, 30_500, 30_000), 30_000)).toBe(7_500);
    expect(staleAfterMs(undefined, 30_000)).toBe(30_000);
  });

  it('take the due time of a scheduled poll from its id, of any other job from its delay', () => {
    expect(dueTimeOf({ id: `repeat:${scheduler}:60000`, timestamp: 59_990 })).toBe(60_000);
    expect(dueTimeOf({ id: firstPollJobId(scheduler, 30_500, 30_000), timestamp: 30_500 })).toBe(30_500);
    expect(dueTimeOf({ id: 'x', timestamp: 1_000, delay: 500 })).toBe(1_500);
  });
});
