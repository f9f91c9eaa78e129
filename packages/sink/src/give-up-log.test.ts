import type { Logger } from '@qsm/logging';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGiveUpLog } from './give-up-log.js';

function setup() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = {
    error: (fields: Record<string, unknown>, msg: string) => void lines.push({ ...fields, msg }),
  } as unknown as Logger;
  let counted = 0;
  const log = createGiveUpLog(logger, {
    sink: 'mqtt',
    maxAgeMs: 60_000,
    counter: {
      inc: (_labels, value) => {
        counted += value;
      },
    },
    everyMs: 10_000,
  });
  return { log, lines, counted: () => counted };
}

describe('the log of results given up', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('names the first result at once, with its job id and age', () => {
    const { log, lines, counted } = setup();
    log.record('sink-mqtt|1', 61_000);
    expect(counted()).toBe(1);
    expect(lines).toEqual([
      {
        jobId: 'sink-mqtt|1',
        sink: 'mqtt',
        ageMs: 61_000,
        msg: 'gave up on a result not delivered within SINK_MAX_AGE_MS (60000 ms)',
      },
    ]);
  });

  it('counts every result but logs a burst as one line per interval, so that a long outage cannot flood the log', () => {
    const { log, lines, counted } = setup();
    for (let i = 0; i < 100_000; i++) log.record(`job${i}`, 70_000);
    expect(counted()).toBe(100_000);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      sink: 'mqtt',
      results: 99_999,
      msg: 'gave up on 99999 more results not delivered within SINK_MAX_AGE_MS (60000 ms)',
    });
    // Quiet again: nothing more to say, and the next one after the interval is named at once.
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
    log.record('later', 65_000);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ jobId: 'later' });
  });

  it('counts every result of a group given up, and says it was a group', () => {
    const { log, lines, counted } = setup();
    log.record('group|1', 61_000, 12);
    log.record('group|2', 61_000, 5);
    log.flush();
    expect(counted()).toBe(17);
    expect(lines.map((l) => l.msg)).toEqual([
      'gave up on a group of 12 results not delivered within SINK_MAX_AGE_MS (60000 ms)',
      'gave up on 5 more results not delivered within SINK_MAX_AGE_MS (60000 ms)',
    ]);
    expect(lines[0]).toMatchObject({ jobId: 'group|1', results: 12 });
  });

  it('says what it has not said yet when the sink stops', () => {
    const { log, lines } = setup();
    log.record('a', 61_000);
    log.record('b', 61_000);
    log.record('c', 61_000);
    log.flush();
    expect(lines.map((l) => l.results ?? l.jobId)).toEqual(['a', 2]);
    log.flush();
    expect(lines).toHaveLength(2);
  });
});
