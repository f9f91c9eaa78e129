import type { ScaleResult } from './scale-case.js';

/** What an estate of `proxies` polled every `intervalMs` needs, derived from one run of the scale case. */
export interface ScaleModel {
  proxies: number;
  intervalMs: number;
  sessionsPerProxy: number;
  pollsPerSecond: number;
  /** Cores of each role at that rate, and processes of it at `coresPerProcess` each. */
  roles: Array<{ role: string; cpuMsPerPoll: number; cores: number; processes: number }>;
  redis: {
    cpuMsPerPoll: number;
    cores: number;
    /** Primaries (one queue shard each) at `redisCoreBudget` of a core each. */
    primaries: number;
    commandsPerSecond: number;
    networkMBps: number;
    /** Steady state: Redis's used memory of the scale case, scaled with the proxies (an upper bound). */
    steadyMemoryGb: number;
    /** One more interval of results waiting per interval the InfluxDB sink cannot deliver. */
    backlogGbPerMinute: number;
  };
  influxPointsPerSecond: number;
}

/**
 * A Node process is one thread: it is counted as 0.7 of a core so that it keeps room for bursts and GC.
 * A Redis primary runs commands on one thread too; it is planned at 0.5 of a core, because a busy Redis
 * answers every client later and the interval's polls must still fit in it.
 */
export const CORES_PER_PROCESS = 0.7;
export const REDIS_CORE_BUDGET = 0.5;

const ROLES = ['pollers', 'influx-sink', 'mqtt-sink', 'tracker', 'scheduler'];

export function scaleModel(s: ScaleResult, proxies = 100_000, intervalMs = s.intervalMs): ScaleModel {
  const pollsPerSecond = proxies / (intervalMs / 1000);
  const cores = (msPerPoll: number) => (msPerPoll * pollsPerSecond) / 1000;
  const roles = ROLES.filter((role) => role in s.cpuMsPerPoll).map((role) => {
    const cpuMsPerPoll = s.cpuMsPerPoll[role]!;
    return {
      role,
      cpuMsPerPoll,
      cores: round(cores(cpuMsPerPoll), 1),
      processes: role === 'scheduler' ? 1 : Math.max(1, Math.ceil(cores(cpuMsPerPoll) / CORES_PER_PROCESS)),
    };
  });
  const m = s.memory;
  // Redis's whole used memory, scaled with the proxies: it over-counts the parts that are capped whatever
  // the proxies' number (finished jobs kept for Bull Board, event streams), so it is an upper bound.
  const steadyBytes = m.usedMb * 2 ** 20 * (proxies / s.proxies);
  return {
    proxies,
    intervalMs,
    sessionsPerProxy: s.sessions,
    pollsPerSecond: Math.round(pollsPerSecond),
    roles,
    redis: {
      cpuMsPerPoll: s.redisPerPoll.cpuMs,
      cores: round(cores(s.redisPerPoll.cpuMs), 1),
      primaries: Math.ceil(cores(s.redisPerPoll.cpuMs) / REDIS_CORE_BUDGET),
      commandsPerSecond: Math.round(s.redisPerPoll.commands * pollsPerSecond),
      networkMBps: round(((s.redisPerPoll.bytesIn + s.redisPerPoll.bytesOut) * pollsPerSecond) / 2 ** 20, 1),
      steadyMemoryGb: round(steadyBytes / 2 ** 30, 2),
      backlogGbPerMinute: round((m.bytesPerWaitingResult * pollsPerSecond * 60) / 2 ** 30, 2),
    },
    // A poll's points: one per session, the proxy's summary and its user list (buildSessionLines).
    influxPointsPerSecond: Math.round(pollsPerSecond * (s.sessions + 2)),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The model as the Markdown table of docs/scaling.md. */
export function renderScaleModel(
  model: ScaleModel,
  s: ScaleResult,
  measuredAt: string,
  machine: string,
): string {
  const k = (n: number) => n.toLocaleString('en-US');
  const rows: string[][] = [
    [
      'Part',
      'Measured per poll (scale case)',
      `At ${k(model.proxies)} proxies every ${model.intervalMs / 1000} s (${k(model.pollsPerSecond)} polls/s)`,
    ],
    ...model.roles.map((r) => [
      r.role,
      `${r.cpuMsPerPoll} ms CPU`,
      r.role === 'scheduler'
        ? `${r.cores} cores (its work grows with the proxies, not the pollers: one per shard)`
        : `${r.cores} cores: ${r.processes} processes at ${CORES_PER_PROCESS} core each`,
    ]),
    [
      'Redis CPU',
      `${model.redis.cpuMsPerPoll} ms`,
      `${model.redis.cores} cores: ${model.redis.primaries} primaries at ${REDIS_CORE_BUDGET} core each, so ${model.redis.primaries} queue shards`,
    ],
    [
      'Redis commands',
      `${s.redisPerPoll.commands} (Lua scripts' own calls included)`,
      `${k(model.redis.commandsPerSecond)}/s`,
    ],
    [
      'Redis network',
      `${k(s.redisPerPoll.bytesIn)} bytes in, ${k(s.redisPerPoll.bytesOut)} out`,
      `${model.redis.networkMBps} MB/s`,
    ],
    [
      'Redis memory, steady',
      `${s.memory.usedMb} MB used at ${k(s.proxies)} proxies: ${s.memory.bytesPerJobScheduler} B per job scheduler, ${s.memory.siteBytesPerProxy} B of site summaries per proxy, ${s.memory.bytesPerTrackedSession} B per tracked session, the rest queues and markers`,
      `at most ${model.redis.steadyMemoryGb} GB (${model.sessionsPerProxy} sessions per proxy)`,
    ],
    [
      'Redis memory, InfluxDB away',
      `${k(s.memory.bytesPerWaitingResult)} B per waiting result`,
      `${model.redis.backlogGbPerMinute} GB more per minute of outage`,
    ],
    [
      'InfluxDB points',
      `${model.sessionsPerProxy + 2} per poll`,
      `${k(model.influxPointsPerSecond)} points/s`,
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `From the scale case of ${measuredAt} (${machine}): ${k(s.proxies)} proxies, ${s.sessions} sessions each, ${s.latencyMs} ms QPS latency, every ${s.intervalMs / 1000} s, ${s.pollers} pollers, ${k(s.okPolls)} polls in a ${s.windowSeconds} s window.`,
    '',
    line(rows[0]!),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...rows.slice(1).map(line),
  ].join('\n');
}
