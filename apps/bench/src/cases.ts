import { cpus } from 'node:os';
import type { CertificateSet } from '@qsm/dev-certs';
import { buildSessionLines } from '@qsm/influx';
import type { PollResult } from '@qsm/model';
import { metricValue } from '@qsm/prometheus-text';
import {
  createResultDelivery,
  openQueue,
  QUEUE,
  queueDepth,
  schedulerIdFor,
  watchCompletedJobs,
} from '@qsm/queues';
import { trackMetaKey, trackStateKey } from '@qsm/redis';
import {
  cleanupRedisPrefix,
  cpuDelta,
  dropInfluxDatabase,
  influxCommand,
  type ProcessStats,
  type RunningApp,
  type Simulator,
  services,
  sleep,
  startApp,
  startSimulator,
  statsOf,
  stopAll,
  tempDir,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { type BaselineTarget, sequentialBaseline } from './baseline.js';
import { percentile, SERVICE_NAMES, serviceProcesses, waitForIdleServices } from './proc-stats.js';

export interface PipelineShape {
  proxies: number;
  servers: number;
  sessions: number;
  latencyMs: number;
  intervalMs: number;
  pollers: number;
  pollerConcurrency: number;
  /** QPS_MAX_SOCKETS_PER_SERVER of the pollers. */
  socketsPerServer: number;
  /** SCHEDULE_SPREAD_MS of the scheduler (0: every proxy at the same moment). */
  spreadMs?: number;
  /** The share of every proxy's sessions the simulator replaces every `everyMs` (default 2% every 5 s). */
  churn?: { share: number; everyMs: number };
  /** More environment of the scheduler (e.g. SCHEDULE_CHECK_INTERVAL_MS). */
  schedulerEnv?: NodeJS.ProcessEnv;
  /** Leave the scheduler to the caller's `startScheduler` (to time its first reconcile). */
  deferScheduler?: boolean;
}

export interface RunningPipeline {
  prefix: string;
  db: string;
  sim: Simulator;
  /** Writes the pipeline's config again with only `keep` of its targets (the apps pick it up). */
  rewriteConfig(keep: (target: BaselineTarget) => boolean): void;
  apps: Record<string, RunningApp>;
  targets: BaselineTarget[];
  /** Starts the scheduler (done at start unless `deferScheduler`). */
  startScheduler(startTimeoutMs?: number): Promise<RunningApp>;
  processes(): Array<{ name: string; pid: number | undefined }>;
  stop(): Promise<void>;
}

/** Simulator + scheduler + pollers + both sinks against the local Redis, InfluxDB 1.x and Mosquitto. */
export async function startPipeline(
  label: string,
  certs: CertificateSet,
  shape: PipelineShape,
): Promise<RunningPipeline> {
  await waitForIdleServices();
  const prefix = uniqueName(`bench_${label}`);
  const db = uniqueName(`bench_${label}`);
  const perServer = Math.ceil(shape.proxies / shape.servers);
  const prefixes = Array.from({ length: perServer }, (_, i) => (i === 0 ? '/' : `/vp${i}`));
  const sim = await startSimulator(certs, [
    ...['--servers', String(shape.servers), '--prefixes', prefixes.join(',')],
    ...[
      '--sessions',
      String(shape.sessions),
      '--users',
      String(Math.max(1, Math.round(shape.sessions * 0.8))),
    ],
    ...[
      '--latency',
      String(shape.latencyMs),
      '--churn',
      String(shape.churn?.share ?? 0.02),
      '--churn-interval',
      String(shape.churn?.everyMs ?? 5000),
      '--spread-addresses',
    ],
  ]);
  const servers = sim.servers.map((s, i) => {
    const count = Math.min(perServer, shape.proxies - i * perServer);
    return { serverName: s.name, qpsHost: s.qpsHost, virtualProxies: prefixes.slice(0, Math.max(0, count)) };
  });
  const targets = servers.flatMap((s) =>
    s.virtualProxies.map((virtualProxy) => ({ serverName: s.serverName, qpsHost: s.qpsHost, virtualProxy })),
  );
  const configDir = tempDir(`bench-${label}`);
  const writeConfig = (keep: (target: BaselineTarget) => boolean) =>
    writeButlerConfig(configDir, {
      certs,
      pollingInterval: shape.intervalMs,
      servers: servers
        .map((s) => ({
          ...s,
          virtualProxies: s.virtualProxies.filter((virtualProxy) =>
            keep({ serverName: s.serverName, qpsHost: s.qpsHost, virtualProxy }),
          ),
        }))
        .filter((s) => s.virtualProxies.length > 0),
      influx: { db },
      mqtt: { baseTopic: `qsm-bench/${prefix}/` },
    });
  const configFile = writeConfig(() => true);
  const env = {
    LOG_LEVEL: 'info',
    POLLER_CONCURRENCY: String(shape.pollerConcurrency),
    QPS_MAX_SOCKETS_PER_SERVER: String(shape.socketsPerServer),
    // QSM_BENCH_ENV='MQTT_CONCURRENCY=256 ...' tries settings on every app of a case.
    ...Object.fromEntries(
      (process.env.QSM_BENCH_ENV ?? '')
        .split(' ')
        .filter((pair) => pair.includes('='))
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  };
  const apps: Record<string, RunningApp> = {};
  apps['influx-sink'] = await startApp('influx-sink', {
    configFile,
    prefix,
    env: { ...env, LOG_LEVEL: 'info' },
  });
  apps['mqtt-sink'] = await startApp('mqtt-sink', { configFile, prefix, env: { ...env, LOG_LEVEL: 'info' } });
  // Session tracking is on by default: every case runs with it, as an operator gets it.
  apps.tracker = await startApp('tracker', { configFile, prefix, env: { ...env, LOG_LEVEL: 'info' } });
  for (let i = 1; i <= shape.pollers; i++) {
    apps[`poller-${i}`] = await startApp('poller', {
      configFile,
      prefix,
      env: { ...env, LOG_LEVEL: 'info' },
      name: `poller-${i}`,
    });
  }
  const startScheduler = async (startTimeoutMs?: number) => {
    apps.scheduler = await startApp('scheduler', {
      configFile,
      prefix,
      env: {
        ...env,
        LOG_LEVEL: 'info',
        SCHEDULE_SPREAD_MS: String(shape.spreadMs ?? 0),
        ...shape.schedulerEnv,
      },
      ...(startTimeoutMs ? { startTimeoutMs } : {}),
    });
    return apps.scheduler;
  };
  if (!shape.deferScheduler) await startScheduler();
  return {
    startScheduler,
    prefix,
    db,
    sim,
    apps,
    targets,
    rewriteConfig: (keep) => void writeConfig(keep),
    processes: () => [
      { name: 'qps-sim', pid: sim.process.child.pid },
      ...Object.entries(apps).map(([name, app]) => ({ name, pid: app.child.pid })),
      ...serviceProcesses(),
    ],
    async stop() {
      await stopAll();
      await cleanupRedisPrefix(prefix);
      await dropInfluxDatabase(db);
    },
  };
}

/** Peak RSS of the product's processes (a service's VmHWM spans its whole life, so it is left out). */
export function peakRssOfApps(stats: Record<string, ProcessStats>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(stats)
      .filter(([name]) => !SERVICE_NAMES.has(name))
      .map(([name, s]) => [name, Math.round(s.peakRssMb)]),
  );
}

export interface CycleResult {
  proxies: number;
  latencyMs: number;
  sessions: number;
  intervalMs: number;
  pollerConcurrency: number;
  socketsPerServer: number;
  cycles: number[];
  steadyCycleSeconds: number;
  pollerPeakRssMb: number;
  cpuSeconds: Record<string, number>;
  /** The poller's CPU per successful poll over the measured intervals. */
  pollerCpuMsPerPoll: number;
  peakRssMb: Record<string, number>;
  baseline?: { seconds: number; polls: number; handshakes: number };
}

/**
 * Poll cycle time: every proxy is due at the same aligned time each interval; the cycle is from the
 * first to the last request QPS saw for that interval.
 */
export async function cycleCase(
  certs: CertificateSet,
  shape: PipelineShape,
  intervals: number,
  baseline: boolean,
): Promise<CycleResult> {
  const pipeline = await startPipeline('cycle', certs, shape);
  try {
    const okBefore = await okPolls(pipeline.apps);
    const before = statsOf(pipeline.processes());
    await sleep(shape.intervalMs * intervals + 2000);
    const after = statsOf(pipeline.processes());
    const okAfter = await okPolls(pipeline.apps);
    const state = await pipeline.sim.state();
    const times = state.servers.flatMap((s) => s.proxies.flatMap((p) => p.times));
    const slots = new Map<number, number[]>();
    for (const t of times) {
      const slot = Math.floor((t - 1) / shape.intervalMs);
      slots.set(slot, [...(slots.get(slot) ?? []), t]);
    }
    // Complete aligned intervals only (the first poll of a new scheduler is not aligned).
    const cycles = [...slots.entries()]
      .filter(([, ts]) => ts.length >= shape.proxies)
      .sort(([a], [b]) => a - b)
      .map(([, ts]) => (Math.max(...ts) - Math.min(...ts)) / 1000);
    const steady = cycles.slice(1);
    const result: CycleResult = {
      proxies: shape.proxies,
      latencyMs: shape.latencyMs,
      sessions: shape.sessions,
      intervalMs: shape.intervalMs,
      pollerConcurrency: shape.pollerConcurrency,
      socketsPerServer: shape.socketsPerServer,
      cycles,
      steadyCycleSeconds: steady.length ? Math.max(...steady) : Number.NaN,
      pollerPeakRssMb: Math.round(after['poller-1']?.peakRssMb ?? Number.NaN),
      cpuSeconds: cpuDelta(before, after),
      pollerCpuMsPerPoll: pollerCpuMsPerPoll(cpuDelta(before, after), okAfter - okBefore),
      peakRssMb: peakRssOfApps(after),
    };
    await pipeline.apps.scheduler!.stop();
    for (let i = 1; i <= shape.pollers; i++) await pipeline.apps[`poller-${i}`]!.stop();
    if (baseline) {
      result.baseline = await sequentialBaseline(
        pipeline.targets,
        certs,
        services.influxUrl,
        `${pipeline.db}_baseline`,
      );
      await dropInfluxDatabase(`${pipeline.db}_baseline`);
    }
    return result;
  } finally {
    await pipeline.stop();
  }
}

/** Successful polls the pollers of a pipeline have counted so far (their /metrics). */
export async function okPolls(apps: Record<string, { metrics(): Promise<string> }>): Promise<number> {
  const texts = await pollerMetrics(apps);
  return texts.reduce((n, text) => n + metricValue(text, 'qsm_polls_total', { outcome: 'ok' }), 0);
}

/** The /metrics text of every poller-N app of a pipeline. */
export function pollerMetrics(apps: Record<string, { metrics(): Promise<string> }>): Promise<string[]> {
  return Promise.all(
    Object.entries(apps)
      .filter(([name]) => name.startsWith('poller'))
      .map(([, app]) => app.metrics()),
  );
}

/** The pollers' CPU milliseconds per successful poll over a window (CPU of every poller-N process). */
function pollerCpuMsPerPoll(cpuSeconds: Record<string, number>, polls: number): number {
  const seconds = Object.entries(cpuSeconds)
    .filter(([name]) => name.startsWith('poller'))
    .reduce((sum, [, s]) => sum + s, 0);
  return polls > 0 ? Math.round((seconds * 1e6) / polls) / 1000 : Number.NaN;
}

export interface ThroughputResult {
  offeredPollsPerSecond: number;
  windowSeconds: number;
  influxResultsPerSecond: number;
  mqttResultsPerSecond: number;
  endToEndPollsPerSecond: number;
  staleSkipped: number;
  overlapSkipped: number;
  influxPointsPerSecond: number;
  latency: { p50Ms: number; p99Ms: number; samples: number };
  cpuSeconds: Record<string, number>;
  /** The pollers' CPU per successful poll over the window. */
  pollerCpuMsPerPoll: number;
  peakRssMb: Record<string, number>;
  /** How many polls' records an InfluxDB job held on average: the pollers group what finishes together. */
  recordsPerInfluxJob: number;
  /** Session events: from the poll that showed them to InfluxDB's acknowledgement of their record. */
  eventLag: { p50Ms: number; p99Ms: number; samples: number };
  tracking?: TrackingFigures;
}

export interface TrackingFigures {
  openSessions: number;
  proxies: number;
  /** Redis memory of the tracking state (MEMORY USAGE of every proxy's state and meta keys) per open session. */
  bytesPerOpenSession: number;
  /** The same without the per-proxy meta key (its identity and last poll time). */
  stateBytesPerOpenSession: number;
  removedProxies: number;
  /** State keys of removed proxies still in Redis once the tracker has retired them (should be 0). */
  removedStateLeft: number;
  /** From the config change to the last removed proxy's state gone. */
  removalSeconds: number;
}

/** Sustained polls/s acknowledged by both sinks, end-to-end latency (poll time -> InfluxDB ack). */
export async function throughputCase(
  certs: CertificateSet,
  shape: PipelineShape,
  warmupSeconds: number,
  windowSeconds: number,
  measureTracking = false,
): Promise<ThroughputResult> {
  const pipeline = await startPipeline('throughput', certs, shape);
  const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  try {
    await sleep(warmupSeconds * 1000);
    const sample = async () => {
      const [influx, mqtt, pollers] = await Promise.all([
        pipeline.apps['influx-sink']!.metrics(),
        pipeline.apps['mqtt-sink']!.metrics(),
        pollerMetrics(pipeline.apps),
      ]);
      return {
        points: metricValue(influx, 'qsm_influx_points_written_total'),
        published: metricValue(mqtt, 'qsm_mqtt_messages_published_total'),
        stale: pollers.reduce(
          (n, t) => n + metricValue(t, 'qsm_polls_total', { outcome: 'skipped_stale' }),
          0,
        ),
        overlap: pollers.reduce(
          (n, t) => n + metricValue(t, 'qsm_polls_total', { outcome: 'skipped_overlap' }),
          0,
        ),
        ok: pollers.reduce((n, t) => n + metricValue(t, 'qsm_polls_total', { outcome: 'ok' }), 0),
      };
    };
    const ages: number[] = [];
    const eventAges: number[] = [];
    let jobs = 0;
    const watcher = await watchCompletedJobs(
      { connection, prefix: pipeline.prefix },
      QUEUE.influx,
      (id, value) => {
        // A job holds one poll's record (ageMs) or a group of them (agesMs, one per record).
        const done = value as { ageMs?: number; agesMs?: number[] } | undefined;
        const own = done?.agesMs ?? (typeof done?.ageMs === 'number' ? [done.ageMs] : []);
        // The tracker's session events travel on their own, under ids ending in `|events`.
        if (id.endsWith('|events')) {
          eventAges.push(...own);
          return;
        }
        ages.push(...own);
        jobs++;
      },
    );
    const before = { ...(await sample()), stats: statsOf(pipeline.processes()), at: performance.now() };
    await sleep(windowSeconds * 1000);
    const after = { ...(await sample()), stats: statsOf(pipeline.processes()), at: performance.now() };
    await watcher.close();
    const seconds = (after.at - before.at) / 1000;
    const pointsPerResult = 2 + shape.sessions;
    const influxResults = (after.points - before.points) / pointsPerResult / seconds;
    const mqttResults = (after.published - before.published) / seconds;
    ages.sort((a, b) => a - b);
    eventAges.sort((a, b) => a - b);
    const tracking = measureTracking ? await trackingFigures(pipeline, connection) : undefined;
    return {
      offeredPollsPerSecond: Math.round((shape.proxies / shape.intervalMs) * 1000),
      windowSeconds: Math.round(seconds),
      influxResultsPerSecond: Math.round(influxResults),
      mqttResultsPerSecond: Math.round(mqttResults),
      endToEndPollsPerSecond: Math.round(Math.min(influxResults, mqttResults)),
      staleSkipped: after.stale - before.stale,
      overlapSkipped: after.overlap - before.overlap,
      influxPointsPerSecond: Math.round((after.points - before.points) / seconds),
      latency: { p50Ms: percentile(ages, 50), p99Ms: percentile(ages, 99), samples: ages.length },
      eventLag: {
        p50Ms: percentile(eventAges, 50),
        p99Ms: percentile(eventAges, 99),
        samples: eventAges.length,
      },
      ...(tracking ? { tracking } : {}),
      recordsPerInfluxJob: jobs > 0 ? Math.round((ages.length / jobs) * 10) / 10 : 0,
      cpuSeconds: cpuDelta(before.stats, after.stats),
      pollerCpuMsPerPoll: pollerCpuMsPerPoll(cpuDelta(before.stats, after.stats), after.ok - before.ok),
      peakRssMb: peakRssOfApps(after.stats),
    };
  } finally {
    connection.disconnect();
    await pipeline.stop();
  }
}

/**
 * The tracking state's Redis memory per open session, then the config loses a tenth of its proxies: the
 * scheduler retires them and the tracker must delete their state.
 */
async function trackingFigures(pipeline: RunningPipeline, connection: Redis): Promise<TrackingFigures> {
  const ids = pipeline.targets.map((t) => schedulerIdFor(t));
  const pipe = connection.pipeline();
  for (const id of ids) {
    pipe.hlen(trackStateKey(pipeline.prefix, id));
    pipe.memory('USAGE', trackStateKey(pipeline.prefix, id), 'SAMPLES', '0');
    pipe.memory('USAGE', trackMetaKey(pipeline.prefix, id), 'SAMPLES', '0');
  }
  const replies = ((await pipe.exec()) ?? []).map(([, value]) => Number(value ?? 0));
  let open = 0;
  let stateBytes = 0;
  let metaBytes = 0;
  for (let i = 0; i < replies.length; i += 3) {
    open += replies[i]!;
    stateBytes += replies[i + 1]!;
    metaBytes += replies[i + 2]!;
  }
  const removed = pipeline.targets.filter((_, i) => i % 10 === 9);
  const removedIds = new Set(removed.map((t) => schedulerIdFor(t)));
  const started = performance.now();
  pipeline.rewriteConfig((t) => !removedIds.has(schedulerIdFor(t)));
  const left = async () => {
    const exists = await Promise.all(
      [...removedIds].map((id) =>
        connection.exists(trackStateKey(pipeline.prefix, id), trackMetaKey(pipeline.prefix, id)),
      ),
    );
    return exists.reduce((n, e) => n + e, 0);
  };
  await waitUntil(async () => (await left()) === 0, 'the removed proxies to be retired', {
    timeoutMs: 60_000,
    intervalMs: 200,
  }).catch(() => undefined);
  return {
    openSessions: open,
    proxies: ids.length,
    bytesPerOpenSession: open > 0 ? Math.round((stateBytes + metaBytes) / open) : Number.NaN,
    stateBytesPerOpenSession: open > 0 ? Math.round(stateBytes / open) : Number.NaN,
    removedProxies: removed.length,
    removedStateLeft: await left(),
    removalSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

export interface InfluxCeilingResult {
  results: number;
  /** Results delivered together (one InfluxDB job per burst, up to the group limits). */
  resultsPerBurst: number;
  points: number;
  batchSize: number;
  /** Mean of the two ceiling runs. */
  ceilingPointsPerSecond: number;
  /** InfluxDB's rate just before and just after the sink's run. */
  ceilingRuns: number[];
  sinkPointsPerSecond: number;
  ratio: number;
  /** The sink's CPU seconds over its run's seconds: below 1, it waited for InfluxDB or Redis. */
  sinkBusy: number;
  /** The sink's peak RSS while it drained the queue (INFLUX_CONCURRENCY jobs in hand at once). */
  sinkPeakRssMb: number;
  /** CPU milliseconds per 1,000 points, of each process, while InfluxDB took the ceiling run and the sink's. */
  cpuMsPerThousandPoints: { ceiling: Record<string, number>; sink: Record<string, number> };
  /**
   * What the sink's run would reach with every core of the machine busy: the cores over the CPU the sink,
   * Redis and InfluxDB spent together per point. On a machine they share, the sink cannot pass this.
   */
  cpuBoundPointsPerSecond: number;
}

function makeResults(count: number, sessions: number, tag: string): PollResult[] {
  const base = Date.now() - 60_000;
  return Array.from({ length: count }, (_, i) => ({
    v: 1,
    kind: 'sessions',
    serverName: `sense${i % 10}`,
    serverDescription: 'bench',
    hostName: `127.0.0.${(i % 10) + 1}`,
    serverTags: {},
    qpsHost: `127.0.0.${(i % 10) + 1}:4243`,
    virtualProxy: `/vp${i % 100}`,
    polledAt: base + i,
    durationMs: 5,
    // Every session a new series, as user_session_id makes it on a real site.
    sessions: Array.from({ length: sessions }, (_, k) => ({
      UserDirectory: 'LAB',
      UserId: `user${(i * sessions + k) % 5000}`,
      SessionId: `${tag}-${i}-${k}-${'0'.repeat(20)}`,
      Attributes: [],
    })),
  }));
}

/**
 * What InfluxDB itself accepts (pre-built line protocol, batches of `batchSize`, 2 writes in parallel),
 * against what the sink achieves on the same shape: results queued first, then the sink started. InfluxDB's
 * own rate drifts by tens of percent between runs, so it is measured before and after the sink, each phase
 * starting once the services are idle, and the sink is compared with the mean of the two.
 */
export async function influxCeilingCase(
  certs: CertificateSet,
  resultsCount: number,
  sessions: number,
  batchSize: number,
  resultsPerBurst: number,
): Promise<InfluxCeilingResult> {
  const sinkDb = uniqueName('bench_sink');
  const prefix = uniqueName('bench_sink');
  const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  try {
    // Every phase starts with InfluxDB idle: measured straight after a write of this size, it is still
    // digesting it, and the later phase would be charged for the earlier one's points.
    await waitForIdleServices();
    const before = await influxCeiling(makeResults(resultsCount, sessions, 'before'), batchSize);

    // The sink: the same number of results of the same shape, queued before the sink starts, delivered
    // `resultsPerBurst` at a time as polls finishing together are (the delivery groups each burst's records).
    const delivery = createResultDelivery({ connection, prefix });
    const results = makeResults(resultsCount, sessions, 'sink');
    for (let i = 0; i < results.length; i += resultsPerBurst) {
      await Promise.all(
        results
          .slice(i, i + resultsPerBurst)
          .map((data, k) => delivery.deliver([{ queue: QUEUE.influx, id: `bench-${i + k}`, data }])),
      );
    }
    await delivery.close();
    const configFile = writeButlerConfig(tempDir('bench-sink'), {
      certs,
      servers: [{ serverName: 'sense0', qpsHost: '127.0.0.1:4243', virtualProxies: ['/'], enable: false }],
      influx: { db: sinkDb },
    });
    const queue = openQueue({ connection, prefix }, QUEUE.influx);
    // The queue waits until the sink is up, so that the sink's start-up is not timed and no job is taken
    // before the clock starts.
    await queue.pause();
    // Alone with InfluxDB, the sink runs at normal priority: the default nice 5 only yields to pollers.
    const sink = await startApp('influx-sink', {
      configFile,
      prefix,
      env: { LOG_LEVEL: 'info', PROCESS_NICE: '0' },
    });
    await waitForIdleServices();
    const processes = [...serviceProcesses(), { name: 'influx-sink', pid: sink.child.pid }];
    const cpuBefore = statsOf(processes);
    const sinkStarted = performance.now();
    await queue.resume();
    await waitUntil(
      async () => {
        const depth = await queueDepth(queue);
        return depth.waiting + depth.active + depth.delayed === 0;
      },
      'the sink to drain its queue',
      { timeoutMs: 600_000, intervalMs: 50 },
    );
    const sinkSeconds = (performance.now() - sinkStarted) / 1000;
    const sinkStats = statsOf(processes);
    const sinkCpu = cpuDelta(cpuBefore, sinkStats);
    await queue.close();
    await stopAll();
    const sinkRate = before.points / sinkSeconds;
    await waitForIdleServices();
    const after = await influxCeiling(makeResults(resultsCount, sessions, 'after'), batchSize);
    const ceiling = (before.pointsPerSecond + after.pointsPerSecond) / 2;
    return {
      results: resultsCount,
      resultsPerBurst,
      points: before.points,
      batchSize,
      ceilingPointsPerSecond: Math.round(ceiling),
      ceilingRuns: [Math.round(before.pointsPerSecond), Math.round(after.pointsPerSecond)],
      sinkPointsPerSecond: Math.round(sinkRate),
      ratio: Math.round((sinkRate / ceiling) * 100) / 100,
      sinkBusy: Math.round(((sinkCpu['influx-sink'] ?? 0) / sinkSeconds) * 100) / 100,
      sinkPeakRssMb: Math.round(sinkStats['influx-sink']?.peakRssMb ?? 0),
      cpuMsPerThousandPoints: {
        ceiling: msPerThousandPoints(before.cpu, before.points),
        sink: msPerThousandPoints(sinkCpu, before.points),
      },
      cpuBoundPointsPerSecond: Math.round(
        (cpus().length * before.points) / Object.values(sinkCpu).reduce((sum, s) => sum + s, 0),
      ),
    };
  } finally {
    await stopAll();
    connection.disconnect();
    await cleanupRedisPrefix(prefix);
    await dropInfluxDatabase(sinkDb);
  }
}

/** Points per second InfluxDB takes as pre-built line protocol, 2 writes in parallel, into a fresh database. */
async function influxCeiling(
  results: PollResult[],
  batchSize: number,
): Promise<{ points: number; pointsPerSecond: number; cpu: Record<string, number> }> {
  const db = uniqueName('bench_ceiling');
  const lines = results.flatMap((r) => buildSessionLines(r, { version: 1, excludeUser: [] }));
  try {
    await influxCommand(`CREATE DATABASE "${db}"`);
    const batches: string[] = [];
    for (let i = 0; i < lines.length; i += batchSize) batches.push(lines.slice(i, i + batchSize).join('\n'));
    const processes = serviceProcesses();
    const cpuBefore = statsOf(processes);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (next < batches.length) {
          const body = batches[next++]!;
          const res = await fetch(`${services.influxUrl}/write?db=${db}&precision=ns`, {
            method: 'POST',
            body,
          });
          if (res.status !== 204) throw new Error(`ceiling write failed: ${res.status} ${await res.text()}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuDelta(cpuBefore, statsOf(processes));
    return { points: lines.length, pointsPerSecond: lines.length / seconds, cpu };
  } finally {
    await dropInfluxDatabase(db);
  }
}

function msPerThousandPoints(cpu: Record<string, number>, points: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(cpu).map(([name, seconds]) => [name, Math.round((seconds / points) * 1e6)]),
  );
}
