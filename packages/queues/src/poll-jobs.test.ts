import { describe, expect, it } from 'vitest';
import {
  firstPollJobId,
  intervalStartOf,
  nearestSlot,
  type PollJobData,
  pollDueAt,
  pollJobSchema,
  pollStaleAfterMs,
} from './poll-jobs.js';
import { schedulerIdFor } from './target-ids.js';

const fields = { v: 1 as const, serverName: 'sense1', virtualProxy: '/hdr', intervalMs: 30_000 };
const scheduled: PollJobData = { ...fields, kind: 'scheduled', offsetMs: 7 };
const first: PollJobData = { ...fields, kind: 'first', dueAt: 30_500 };
const legacy: PollJobData = { ...fields };

describe('poll jobs', () => {
  const scheduler = schedulerIdFor({ serverName: 'sense1', virtualProxy: '/hdr' });

  it('are due at their slot when scheduled: added time plus delay, on the scheduler grid', () => {
    expect(pollDueAt({ data: scheduled, timestamp: 59_000, opts: { delay: 1_007 } })).toBe(60_007);
    // Added without delay for a slot already past (a scheduler updated while its poll waited).
    expect(pollDueAt({ data: scheduled, timestamp: 61_200, opts: { delay: 0 } })).toBe(60_007);
    expect(pollDueAt({ data: scheduled, timestamp: 59_000, opts: {} })).toBe(60_007);
  });

  it('are due when added when they are a first poll, whatever BullMQ says', () => {
    expect(pollDueAt({ data: first, timestamp: 30_502, opts: { delay: 0 } })).toBe(30_500);
  });

  it('of an older release are due at their creation time plus their delay', () => {
    expect(pollDueAt({ data: legacy, timestamp: 59_990, opts: { delay: 11 }, repeatJobKey: scheduler })).toBe(
      60_001,
    );
    expect(pollDueAt({ data: legacy, timestamp: 1_000, opts: {} })).toBe(1_000);
  });

  it('may be an interval late when scheduled, a quarter of one when an extra first poll', () => {
    expect(pollStaleAfterMs({ data: scheduled }, 30_000)).toBe(30_000);
    expect(pollStaleAfterMs({ data: first }, 30_000)).toBe(7_500);
    expect(pollStaleAfterMs({ data: legacy, repeatJobKey: scheduler }, 30_000)).toBe(30_000);
    expect(pollStaleAfterMs({ data: legacy }, 30_000)).toBe(7_500);
  });

  it('snap a time to the nearest slot of a grid', () => {
    expect(nearestSlot(60_007, 30_000, 7)).toBe(60_007);
    expect(nearestSlot(74_000, 30_000, 7)).toBe(60_007);
    expect(nearestSlot(76_000, 30_000, 7)).toBe(90_007);
  });

  it('give one extra first poll per scheduler and interval', () => {
    expect(firstPollJobId(scheduler, 30_500, 30_000)).toBe(firstPollJobId(scheduler, 59_999, 30_000));
    expect(firstPollJobId(scheduler, 30_500, 30_000)).not.toBe(firstPollJobId(scheduler, 60_000, 30_000));
    expect(firstPollJobId(scheduler, 30_500, 30_000)).not.toContain(':');
  });

  it('are checked by kind: a first poll needs its due time, an unknown kind is refused', () => {
    expect(pollJobSchema.safeParse(first).success).toBe(true);
    expect(pollJobSchema.safeParse(legacy).success).toBe(true);
    expect(pollJobSchema.safeParse({ ...fields, kind: 'first' }).success).toBe(false);
    expect(pollJobSchema.safeParse({ ...fields, kind: 'later' }).success).toBe(false);
    expect(pollJobSchema.safeParse({ ...scheduled, v: 2 }).success).toBe(false);
  });
});

describe('intervalStartOf', () => {
  it('gives every poll of one aligned interval the same start, whatever its offset', () => {
    const interval = 30_000;
    const start = 1_733_000_010_000 - (1_733_000_010_000 % interval);
    for (const offset of [0, 1, 12_345, interval - 1]) {
      expect(intervalStartOf(start + offset, interval)).toBe(start);
    }
    expect(intervalStartOf(start + interval, interval)).toBe(start + interval);
    expect(intervalStartOf(start - 1, interval)).toBe(start - interval);
  });
});
