import type { CertificateSet } from '@qsm/dev-certs';
import { metricValue } from '@qsm/prometheus-text';
import { openQueue, QUEUE, type Queue, queueDepth, schedulerIdFor, watchCompletedJobs } from '@qsm/queues';
import { cpuDelta, type ProcessStats, services, sleep, statsOf, waitUntil } from '@qsm/testkit';
import { Redis } from 'ioredis';
import {
  type PipelineShape,
  peakRssOfApps,
  pollerMetrics,
  type RunningPipeline,
  startPipeline,
} from './cases.js';
import { percentile } from './proc-stats.js';
import { type RedisCounters, readRedisCounters, topCalls } from './redis-counters.js';
import { measureRedisMemory, type RedisMemoryFigures, watchRedisPeak } from './redis-memory.js';

/** One polling interval of the scale case, as QPS and the sinks saw it. */
export interface IntervalFigures {
  /** Seconds since the epoch of the interval's start (a multiple of the polling interval). */
  start: number;
  polls: number;
  /** Proxies polled at least once in the interval (of `expected`). */
  proxiesPolled: number;
  expected: number;
  /** From the interval's start to the last poll QPS saw in it, and to InfluxDB's acknowledgement of the last of its results. */
  lastPollSeconds: number;
  lastInfluxAckSeconds: number;
  /** Jobs waiting in each queue just before the interval began (left from the previous one). */
  waitingAtStart: Record<string, number>;
}

export interface ReconcileFigures {
  /** From the config change (or the scheduler's start) to the job schedulers in Redis matching it. */
  seconds: number;
  schedulers: number;
  /** The intervals that overlapped the change: did every other proxy still get its poll? */
  othersPolledEveryInterval: boolean;
  /** Of the 1,000 proxies the change removed or added, how many were polled in its last whole interval. */
  changedPolledAfter?: number;
  intervals: IntervalFigures[];
}

export interface ScaleResult {
  proxies: number;
  servers: number;
  sessions: number;
  latencyMs: number;
  intervalMs: number;
  pollers: number;
  intervals: IntervalFigures[];
  staleSkipped: number;
  overlapSkipped: number;
  failedPolls: number;
  okPolls: number;
  reconcileFromEmpty: ReconcileFigures;
  remove1000: ReconcileFigures;
  add1000: ReconcileFigures;
  /** The scheduler's CPU per periodic check of every job scheduler (its CPU over the window / checks). */
  periodicCheck: { cpuMsPerCheck: number; checks: number };
  /** A poller's /metrics with a gauge series per proxy. */
  metricsScrape: { series: number; p50Ms: number; p90Ms: number; maxMs: number; samples: number };
  memory: RedisMemoryFigures;
  /** Redis per successful poll over the measured intervals. */
  redisPerPoll: {
    commands: number;
    bytesIn: number;
    bytesOut: number;
    cpuMs: number;
    /** The commands called most (scripts' own calls included), per poll. */
    topCalls: Record<string, number>;
  };
  /** CPU per successful poll of each role over the measured intervals. */
  cpuMsPerPoll: Record<string, number>;
  cpuSeconds: Record<string, number>;
  peakRssMb: Record<string, number>;
  windowSeconds: number;
  /** Intervals from the first polls until one began with nothing waiting. */
  warmupIntervals: number;
}

const CHECK_INTERVAL_MS = 30_000;
const MAX_WARMUP_INTERVALS = 10;

/**
 * 10,000 virtual proxies on 50 simulated QPS servers, the whole product on this machine: the scheduler's
 * reconciles at that size, every interval polled and delivered in time, what Redis holds per part, and
 * each process's CPU and memory.
 */
export async function scaleCase(
  certs: CertificateSet,
  shape: PipelineShape,
  measuredIntervals: number,
  say: (line: string) => void,
): Promise<ScaleResult> {
  const pipeline = await startPipeline('scale', certs, {
    ...shape,
    deferScheduler: true,
    schedulerEnv: { SCHEDULE_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS) },
  });
  const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  const queues = Object.fromEntries(
    [QUEUE.poll, QUEUE.influx, QUEUE.mqtt, QUEUE.track].map((name) => [
      name,
      openQueue({ connection, prefix: pipeline.prefix }, name),
    ]),
  ) as Record<string, Queue>;
  const pollQueue = queues[QUEUE.poll]!;
  const acks = trackInfluxAcks(shape.intervalMs);
  const watcher = await watchCompletedJobs(
    { connection, prefix: pipeline.prefix },
    QUEUE.influx,
    acks.record,
  );
  const waiting = sampleWaitingAtIntervalStarts(queues, shape.intervalMs);
  const allIds = new Set(pipeline.targets.map((t) => schedulerIdFor(t)));
  const peak = watchRedisPeak(connection);
  try {
    // From empty: the scheduler's start, to every job scheduler in Redis.
    const startedAt = Date.now();
    const starting = pipeline.startScheduler(120_000);
    await waitForSchedulers(pollQueue, allIds.size, 120_000);
    const emptySeconds = (Date.now() - startedAt) / 1000;
    await starting;
    say(`scale: ${allIds.size} job schedulers in ${emptySeconds.toFixed(1)} s; warming up...`);

    // Warm-up: the first polls of every proxy and then every proxy's scheduled poll, two bursts within an
    // interval, are more than an interval's work; the sinks take some intervals to absorb them. The window
    // starts with the first interval that begins with nothing left waiting (or after MAX_WARMUP_INTERVALS).
    let warmup = 0;
    do {
      await sleepUntil(nextIntervalStart(Date.now(), shape.intervalMs));
      warmup++;
      await sleep(500);
    } while (
      warmup < MAX_WARMUP_INTERVALS &&
      (warmup < 2 ||
        Object.values(waiting.at(nextIntervalStart(Date.now(), shape.intervalMs) - shape.intervalMs)).some(
          (n) => n > 0,
        ))
    );
    say(`scale: warmed up in ${warmup} intervals`);
    const windowStart = Date.now() - 500;
    const before = await sample(pipeline, connection);
    const scrapes = scrapeMetricsDuring(pipeline, measuredIntervals * shape.intervalMs);
    await sleepUntil(windowStart + measuredIntervals * shape.intervalMs);
    // The last interval's results reach InfluxDB after it ends: wait for them before reading the window.
    await sleep(shape.intervalMs / 2);
    const after = await sample(pipeline, connection);
    const windowSeconds = (after.at - before.at) / 1000;
    const metricsScrape = await scrapes;
    const state = await pipeline.sim.state();
    const measured = intervalsBetween(windowStart, windowStart + measuredIntervals * shape.intervalMs, shape);
    const intervals = measured.map((start) =>
      intervalFigures(start, shape.intervalMs, state, allIds, acks, waiting),
    );
    for (const x of intervals) say(`scale: interval ${JSON.stringify(x)}`);
    say(`scale: CPU seconds in the window ${JSON.stringify(cpuDelta(before.stats, after.stats))}`);
    say(`scale: ${intervals.length} intervals measured; memory...`);
    const memory = await measureRedisMemory(connection, pipeline, shape.intervalMs, say, peak.peakBytes);

    // A thousand proxies leave the config, in the middle of the burst of an interval's polls.
    const removed = new Set([...allIds].filter((_, i) => i % 10 === 9));
    const remove1000 = await reconcileDuring(pollQueue, shape, allIds.size - removed.size, () =>
      pipeline.rewriteConfig((t) => !removed.has(schedulerIdFor(t))),
    );
    say(`scale: removed ${removed.size} in ${remove1000.seconds} s`);
    const add1000 = await reconcileDuring(pollQueue, shape, allIds.size, () =>
      pipeline.rewriteConfig(() => true),
    );
    say(`scale: added ${removed.size} in ${add1000.seconds} s`);
    const reconcileState = await pipeline.sim.state();
    // The proxies the change left alone must be polled in every interval it overlapped.
    const others = new Set([...allIds].filter((id) => !removed.has(id)));
    const overlapping = (r: ReconcileFigures) => {
      const figures = r.intervals.map((x) =>
        intervalFigures(x.start * 1000, shape.intervalMs, reconcileState, others, acks, waiting),
      );
      const last = r.intervals.at(-1);
      return {
        ...r,
        intervals: figures,
        othersPolledEveryInterval: figures.every((f) => f.proxiesPolled === f.expected),
        // Removed: none polled any more; added back: every one polled again.
        ...(last
          ? {
              changedPolledAfter: intervalFigures(
                last.start * 1000,
                shape.intervalMs,
                reconcileState,
                removed,
                acks,
                waiting,
              ).proxiesPolled,
            }
          : {}),
      };
    };

    const cpu = cpuDelta(before.stats, after.stats);
    const okPolls = after.polls.ok - before.polls.ok;
    return {
      proxies: allIds.size,
      servers: shape.servers,
      sessions: shape.sessions,
      latencyMs: shape.latencyMs,
      intervalMs: shape.intervalMs,
      pollers: shape.pollers,
      intervals,
      staleSkipped: after.polls.stale - before.polls.stale,
      overlapSkipped: after.polls.overlap - before.polls.overlap,
      failedPolls: after.polls.failed - before.polls.failed,
      okPolls,
      reconcileFromEmpty: {
        seconds: Math.round(emptySeconds * 10) / 10,
        schedulers: allIds.size,
        othersPolledEveryInterval: true,
        intervals: [],
      },
      remove1000: overlapping(remove1000),
      add1000: overlapping(add1000),
      periodicCheck: {
        checks: Math.floor((windowSeconds * 1000) / CHECK_INTERVAL_MS),
        cpuMsPerCheck: Math.round(
          ((cpu.scheduler ?? 0) * 1000) / Math.max(1, Math.floor((windowSeconds * 1000) / CHECK_INTERVAL_MS)),
        ),
      },
      metricsScrape,
      memory,
      redisPerPoll: perPoll(before.redis, after.redis, cpu['redis-server'] ?? 0, okPolls),
      cpuMsPerPoll: Object.fromEntries(
        Object.entries(roleCpu(cpu)).map(([role, s]) => [
          role,
          Math.round((s * 1e6) / Math.max(1, okPolls)) / 1000,
        ]),
      ),
      cpuSeconds: cpu,
      peakRssMb: peakRssOfApps(after.stats),
      windowSeconds: Math.round(windowSeconds),
      warmupIntervals: warmup,
    };
  } finally {
    peak.stop();
    waiting.stop();
    await watcher.close();
    await Promise.all(Object.values(queues).map((q) => q.close()));
    connection.disconnect();
    await pipeline.stop();
  }
}

/** The pollers' outcome counters, Redis's counters and every process's CPU, at one moment. */
async function sample(pipeline: RunningPipeline, connection: Redis) {
  const texts = await pollerMetrics(pipeline.apps);
  const count = (outcome: string) =>
    texts.reduce((n, text) => n + metricValue(text, 'qsm_polls_total', { outcome }), 0);
  const failed = texts.reduce(
    (n, text) =>
      n +
      text
        .split('\n')
        .filter((l) => l.startsWith('qsm_polls_total{') && !/outcome="(ok|skipped_[a-z]+)"/.test(l))
        .reduce((m, l) => m + Number(l.slice(l.lastIndexOf(' ') + 1)), 0),
    0,
  );
  return {
    at: performance.now(),
    polls: { ok: count('ok'), stale: count('skipped_stale'), overlap: count('skipped_overlap'), failed },
    redis: await readRedisCounters(connection),
    stats: statsOf(pipeline.processes()) as Record<string, ProcessStats>,
  };
}

/** CPU seconds per role: the pollers together, the rest by process name. */
function roleCpu(cpu: Record<string, number>): Record<string, number> {
  const roles: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(cpu)) {
    const role = name.startsWith('poller-') ? 'pollers' : name;
    roles[role] = (roles[role] ?? 0) + seconds;
  }
  return roles;
}

function perPoll(before: RedisCounters, after: RedisCounters, cpuSeconds: number, polls: number) {
  const per = (x: number) => Math.round((x / Math.max(1, polls)) * 10) / 10;
  return {
    commands: per(after.commands - before.commands),
    bytesIn: per(after.bytesIn - before.bytesIn),
    bytesOut: per(after.bytesOut - before.bytesOut),
    cpuMs: Math.round(((cpuSeconds * 1000) / Math.max(1, polls)) * 1000) / 1000,
    topCalls: topCalls(before, after, polls),
  };
}

async function waitForSchedulers(pollQueue: Queue, count: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => (await pollQueue.getJobSchedulersCount()) === count,
    `${count} job schedulers`,
    {
      timeoutMs,
      intervalMs: 100,
    },
  );
}

function nextIntervalStart(now: number, intervalMs: number): number {
  return Math.floor(now / intervalMs) * intervalMs + intervalMs;
}

async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await sleep(ms);
}

/** Interval starts (ms) of the whole intervals between two moments. */
function intervalsBetween(from: number, to: number, shape: PipelineShape): number[] {
  const starts: number[] = [];
  // An interval that began less than a second before `from` counts: its polls are due 1 ms after its start.
  const first = Math.ceil((from - 1000) / shape.intervalMs) * shape.intervalMs;
  for (let start = first; start + shape.intervalMs <= to + 1000; ) {
    starts.push(start);
    start += shape.intervalMs;
  }
  return starts;
}

/**
 * InfluxDB's acknowledgements of poll results, by the interval of the poll: a completed sink job's return
 * value gives each of its records' age at the acknowledgement.
 */
function trackInfluxAcks(intervalMs: number) {
  const lastAck = new Map<number, number>();
  return {
    record(id: string, value: unknown) {
      if (id.endsWith('|events') || id.startsWith('site')) return;
      const done = value as { ageMs?: number; agesMs?: number[] } | undefined;
      const ages = done?.agesMs ?? (typeof done?.ageMs === 'number' ? [done.ageMs] : []);
      const now = Date.now();
      for (const age of ages) {
        const start = Math.floor((now - age - 1) / intervalMs) * intervalMs;
        lastAck.set(start, Math.max(lastAck.get(start) ?? 0, now));
      }
    },
    lastAck: (start: number) => lastAck.get(start),
  };
}

/** Waiting jobs of every queue 300 ms before each interval starts: what the previous one left behind. */
function sampleWaitingAtIntervalStarts(queues: Record<string, Queue>, intervalMs: number) {
  const samples = new Map<number, Record<string, number>>();
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    const start = nextIntervalStart(Date.now() + 300, intervalMs);
    timer = setTimeout(
      async () => {
        const depths = await Promise.all(
          Object.entries(queues).map(async ([name, q]) => {
            const d = await queueDepth(q);
            return [name, d.waiting] as const;
          }),
        ).catch(() => undefined);
        if (depths) samples.set(start, Object.fromEntries(depths));
        schedule();
      },
      start - 300 - Date.now(),
    );
  };
  schedule();
  return {
    at: (start: number) => samples.get(start) ?? {},
    stop: () => clearTimeout(timer),
  };
}

function intervalFigures(
  start: number,
  intervalMs: number,
  state: Awaited<ReturnType<RunningPipeline['sim']['state']>>,
  ids: ReadonlySet<string>,
  acks: ReturnType<typeof trackInfluxAcks>,
  waiting: ReturnType<typeof sampleWaitingAtIntervalStarts>,
): IntervalFigures {
  let polls = 0;
  let proxiesPolled = 0;
  let last = start;
  for (const server of state.servers) {
    for (const proxy of server.proxies) {
      if (!ids.has(schedulerIdFor({ serverName: server.name, virtualProxy: proxy.prefix }))) continue;
      // Polls are due 1 ms after the interval's start (the schedulers' offset).
      const inside = proxy.times.filter((t) => t > start && t <= start + intervalMs);
      polls += inside.length;
      if (inside.length > 0) proxiesPolled++;
      for (const t of inside) last = Math.max(last, t);
    }
  }
  const ack = acks.lastAck(start);
  return {
    start: start / 1000,
    polls,
    proxiesPolled,
    expected: ids.size,
    lastPollSeconds: Math.round((last - start) / 100) / 10,
    lastInfluxAckSeconds: ack ? Math.round((ack - start) / 100) / 10 : Number.NaN,
    waitingAtStart: waiting.at(start),
  };
}

/**
 * A config change made 2 s into an interval (while its polls are under way): how long until the job
 * schedulers match it, and the intervals it overlapped, for the caller to check the other proxies in.
 */
async function reconcileDuring(
  pollQueue: Queue,
  shape: PipelineShape,
  count: number,
  change: () => void,
): Promise<ReconcileFigures> {
  const start = nextIntervalStart(Date.now(), shape.intervalMs);
  await sleepUntil(start + 2000);
  const changedAt = Date.now();
  change();
  await waitForSchedulers(pollQueue, count, 120_000);
  const seconds = (Date.now() - changedAt) / 1000;
  // The change's interval and the next one, both whole.
  const end = nextIntervalStart(Date.now(), shape.intervalMs) + shape.intervalMs;
  await sleepUntil(end + 2000);
  const intervals = intervalsBetween(start, end, shape).map((s) => ({ start: s / 1000 }) as IntervalFigures);
  return {
    seconds: Math.round(seconds * 10) / 10,
    schedulers: count,
    othersPolledEveryInterval: false,
    intervals,
  };
}

/** A poller's /metrics scraped every few seconds over `ms`, timed. */
async function scrapeMetricsDuring(pipeline: RunningPipeline, ms: number) {
  const poller = pipeline.apps['poller-1']!;
  const url = `http://127.0.0.1:${poller.httpPort}/metrics`;
  const times: number[] = [];
  let series = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const started = performance.now();
    const text = await (await fetch(url)).text();
    times.push(performance.now() - started);
    series = text.split('\n').filter((l) => l.startsWith('butlersos_user_session_total{')).length;
    await sleep(7000);
  }
  times.sort((a, b) => a - b);
  return {
    series,
    p50Ms: Math.round(percentile(times, 50)),
    p90Ms: Math.round(percentile(times, 90)),
    maxMs: Math.round(times.at(-1) ?? Number.NaN),
    samples: times.length,
  };
}
