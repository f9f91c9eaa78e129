import { describe, expect, it } from 'vitest';
import type { ScaleResult } from '../src/scale-case.js';
import { renderScaleModel, scaleModel } from '../src/scale-model.js';

/** The figures scaleModel reads, as a scale case run gives them; the rest is irrelevant to the model. */
function measured(overrides: Partial<ScaleResult> = {}): ScaleResult {
  return {
    proxies: 10_000,
    servers: 50,
    sessions: 20,
    latencyMs: 50,
    intervalMs: 30_000,
    pollers: 4,
    okPolls: 50_000,
    windowSeconds: 165,
    cpuMsPerPoll: { pollers: 1.2, 'influx-sink': 0.3, tracker: 0.42, scheduler: 0.05, 'qps-sim': 0.15 },
    redisPerPoll: { commands: 200, bytesIn: 20_000, bytesOut: 10_000, cpuMs: 1, topCalls: {} },
    memory: {
      usedMb: 100,
      peakMb: 150,
      partsMb: {},
      keys: 0,
      bytesPerJobScheduler: 2000,
      schedulerHashBytes: 700,
      pendingPollBytes: 1000,
      finishedPollsKeptMb: 1,
      bytesPerWaitingResult: 5000,
      waitingResults: 10_000,
      drainSeconds: 60,
      bytesPerTrackedSession: 100,
      trackedSessions: 200_000,
      siteBytesPerProxy: 1600,
    },
    ...overrides,
  } as ScaleResult;
}

describe('scaleModel: what 100,000 proxies need, from one scale case', () => {
  it('turns CPU per poll into cores and processes at 0.7 core each, leaving the simulator out', () => {
    const model = scaleModel(measured());
    expect(model.pollsPerSecond).toBe(3333);
    expect(model.roles.map((r) => r.role)).toEqual(['pollers', 'influx-sink', 'tracker', 'scheduler']);
    // 1.2 ms x 3,333/s = 4 cores: 6 processes of 0.7 (5 would be 3.5).
    expect(model.roles[0]).toMatchObject({ cores: 4, processes: 6 });
    // 0.3 ms: 1 core, 2 processes; 0.42 ms: 1.4 cores, exactly 2.
    expect(model.roles[1]).toMatchObject({ cores: 1, processes: 2 });
    expect(model.roles[2]).toMatchObject({ cores: 1.4, processes: 2 });
    expect(model.roles[3]).toMatchObject({ processes: 1 });
  });

  it('plans a Redis primary, so a queue shard, per half core of Redis CPU', () => {
    expect(scaleModel(measured()).redis).toMatchObject({
      cores: 3.3,
      primaries: 7,
      commandsPerSecond: 666_667,
    });
    const cheaper = measured({
      redisPerPoll: { commands: 50, bytesIn: 1, bytesOut: 1, cpuMs: 0.1, topCalls: {} },
    });
    expect(scaleModel(cheaper).redis.primaries).toBe(1);
  });

  it("scales Redis's used memory with the proxies, and the backlog with the outage's minutes", () => {
    const { redis } = scaleModel(measured());
    // 100 MB at 10,000 proxies: at most 1,000 MB at 100,000.
    expect(redis.steadyMemoryGb).toBe(0.98);
    // 5,000 B x 3,333 results/s x 60 s.
    expect(redis.backlogGbPerMinute).toBe(0.93);
  });

  it('renders the table with the run it comes from', () => {
    const text = renderScaleModel(scaleModel(measured()), measured(), '2026-12-04T23:00:00Z', '2 cores');
    expect(text).toContain('From the scale case of 2026-12-04T23:00:00Z (2 cores)');
    expect(text).toContain('| Redis CPU');
    expect(text).toContain('7 primaries at 0.5 core each, so 7 queue shards');
  });
});
