import type { InfluxQueueJob } from '@qsm/model';
import type { Job } from '@qsm/queues';
import { samplePollResult } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';
import { oldestRecordAt, storedRecords } from '../src/job-records.js';

const jobOf = (data: unknown, timestamp = 5) => ({ id: 'j', data, timestamp }) as Job<InfluxQueueJob>;

describe("a job's records as its retries see them", () => {
  it("times a group's retries from its oldest record, and counts every member", () => {
    const group = {
      v: 1,
      kind: 'group',
      members: [
        { id: 'a', data: samplePollResult([], { polledAt: 300 }) },
        { id: 'b', data: { kind: 'error', failedAt: 200 } },
        { id: 'c', data: 'garbage' },
      ],
    };
    expect(oldestRecordAt(jobOf(group))).toBe(200);
    expect(storedRecords(jobOf(group))).toHaveLength(3);
    expect(oldestRecordAt(jobOf(samplePollResult([], { polledAt: 400 })))).toBe(400);
  });

  it('times session events from their poll, and site figures from the end of their interval', () => {
    expect(oldestRecordAt(jobOf({ kind: 'session_events', time: 500 }))).toBe(500);
    expect(oldestRecordAt(jobOf({ kind: 'site_figures', intervalStart: 600, intervalMs: 30 }))).toBe(630);
  });

  it("falls back on the job's own time when no record carries one", () => {
    expect(oldestRecordAt(jobOf({ v: 1, kind: 'group', members: 'none' }, 77))).toBe(77);
    expect(storedRecords(jobOf({ v: 1, kind: 'group', members: 'none' }))).toEqual([]);
    expect(storedRecords(undefined)).toEqual([]);
  });
});
