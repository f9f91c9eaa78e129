import { describe, expect, it } from 'vitest';
import { formatSummary, type Sample, type Totals } from './summary.js';

const totals = (polls: number, extra: Partial<Totals> = {}): Totals => ({
  polls,
  failures: 0,
  sessions: 0,
  points: 0,
  messages: 0,
  ...extra,
});

/** One sample per second for `seconds`, nine polls in a burst every five seconds (the demo's nine proxies). */
function burstySamples(seconds: number): Sample[] {
  return Array.from({ length: seconds + 1 }, (_, s) => ({
    at: s * 1000,
    totals: totals(9 * (Math.floor(s / 5) + 1)),
  }));
}

describe('formatSummary', () => {
  it('averages polls/s over the window, so that a line printed between two bursts does not say 0.0', () => {
    const samples = burstySamples(63);
    expect(formatSummary(samples, 60_000)).toMatch(/^polls\/s 1\.8 \|/);
    // The last second had no burst: a rate since the previous sample would be 0.
    expect(samples.at(-1)!.totals.polls).toBe(samples.at(-2)!.totals.polls);
  });

  it('uses what it has before the window is full', () => {
    expect(formatSummary(burstySamples(10), 60_000)).toMatch(/^polls\/s 1\.8 \|/);
    expect(formatSummary(burstySamples(0), 60_000)).toMatch(/^polls\/s 0\.0 \|/);
  });

  it('shows the latest totals', () => {
    const line = formatSummary(
      [{ at: 0, totals: totals(3, { sessions: 104, points: 2412, messages: 171, failures: 2 }) }],
      60_000,
    );
    expect(line).toBe(
      'polls/s 0.0 | sessions now 104 | points written 2412 | MQTT messages 171 | failed polls 2',
    );
  });
});
