import { openQueue, QUEUE, schedulerIdFor } from '@qsm/queues';
import { trackStateKey } from '@qsm/redis';
import { sleep, waitUntil } from '@qsm/testkit';
import type { Redis } from 'ioredis';
import type { RunningPipeline } from './cases.js';
import { parseInfo } from './redis-counters.js';

export interface RedisMemoryFigures {
  /** INFO memory: used at steady state, and the most used while the case ran (sampled every second), MB. */
  usedMb: number;
  peakMb: number;
  /** MEMORY USAGE of every key of the deployment's prefix, summed by part (queue, tracking state, ...), MB. */
  partsMb: Record<string, number>;
  keys: number;
  /**
   * Bytes per job scheduler: its hash, its next poll (waiting in the delayed set), and its entries in the
   * schedulers' and the delayed sorted sets.
   */
  bytesPerJobScheduler: number;
  /** Of which the scheduler's own hash and its next poll's hash. */
  schedulerHashBytes: number;
  pendingPollBytes: number;
  /** Finished polls kept for Bull Board (removeOnComplete/removeOnFail caps), whatever the proxies' number. */
  finishedPollsKeptMb: number;
  /** Bytes per poll result waiting in the InfluxDB sink's queue (InfluxDB unreachable, as in an outage). */
  bytesPerWaitingResult: number;
  /** Results that waited, and how long the sink took to deliver them once it could. */
  waitingResults: number;
  drainSeconds: number;
  /** Tracking state (sessions hash and meta hash of every proxy) per open session. */
  bytesPerTrackedSession: number;
  trackedSessions: number;
  /** The site figures' per-interval summaries, per proxy. */
  siteBytesPerProxy: number;
}

const MB = 1024 * 1024;

/**
 * Redis's used memory, read every second until stopped: INFO's own peak spans Redis's whole life, other
 * runs included.
 */
export function watchRedisPeak(connection: Redis): { peakBytes(): number; stop(): void } {
  let peak = 0;
  const read = async () => {
    const used = parseInfo(await connection.info('memory')).used_memory ?? 0;
    peak = Math.max(peak, used);
  };
  const timer = setInterval(() => void read().catch(() => undefined), 1000);
  void read().catch(() => undefined);
  return { peakBytes: () => peak, stop: () => clearInterval(timer) };
}

/** Every key under `prefix:` with its MEMORY USAGE. */
async function keySizes(connection: Redis, prefix: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await connection.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    const pipe = connection.pipeline();
    for (const key of keys) pipe.memory('USAGE', key, 'SAMPLES', '0');
    const replies = (await pipe.exec()) ?? [];
    for (const [i, key] of keys.entries()) sizes.set(key, Number(replies[i]?.[1] ?? 0));
  } while (cursor !== '0');
  return sizes;
}

/** The part of the deployment a key belongs to: its queue, or the tracking/site key family. */
function partOf(rest: string): string {
  const segments = rest.split(':');
  if (segments[0] === 'qsm') return segments.slice(0, segments[1] === 'track' ? 3 : 2).join(':');
  return segments[0] ?? rest;
}

function sumByPart(sizes: Map<string, number>, prefix: string): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const [key, bytes] of sizes) {
    const part = partOf(key.slice(prefix.length + 1));
    parts[part] = (parts[part] ?? 0) + bytes;
  }
  return parts;
}

/**
 * Redis's memory at steady state and what each part costs; then the InfluxDB sink's queue is paused for one
 * interval (as InfluxDB being away holds results back) to weigh a waiting result, and resumed.
 */
export async function measureRedisMemory(
  connection: Redis,
  pipeline: RunningPipeline,
  intervalMs: number,
  say: (line: string) => void,
  peakBytes: () => number,
): Promise<RedisMemoryFigures> {
  const { prefix } = pipeline;
  const ids = new Set(pipeline.targets.map((t) => schedulerIdFor(t)));
  const sizes = await keySizes(connection, prefix);
  const parts = sumByPart(sizes, prefix);
  // The poll queue's keys as BullMQ 6 lays them out: `repeat:<scheduler id>` is a scheduler's hash,
  // `repeat:<scheduler id>:<due ms>` one of its polls, pending (in the delayed set) or finished and kept.
  const pollKeys = `${prefix}:${QUEUE.poll}:`;
  const delayed = new Set(await connection.zrange(`${pollKeys}delayed`, '0', '-1'));
  let schedulerHashes = 0;
  let pendingPolls = 0;
  let finishedPolls = 0;
  for (const [key, bytes] of sizes) {
    if (!key.startsWith(pollKeys)) continue;
    const rest = key.slice(pollKeys.length);
    if (rest.startsWith('repeat:') && ids.has(rest.slice('repeat:'.length))) schedulerHashes += bytes;
    else if (delayed.has(rest)) pendingPolls += bytes;
    else if (rest.startsWith('repeat:') || rest.startsWith('poll|')) finishedPolls += bytes;
  }
  const sortedSets = (sizes.get(`${pollKeys}repeat`) ?? 0) + (sizes.get(`${pollKeys}delayed`) ?? 0);

  const pipe = connection.pipeline();
  for (const id of ids) pipe.hlen(trackStateKey(prefix, id));
  const sessions = ((await pipe.exec()) ?? []).reduce((n, [, value]) => n + Number(value ?? 0), 0);
  const tracking = (parts['qsm:track:state'] ?? 0) + (parts['qsm:track:meta'] ?? 0);

  // One interval of results held back, as when InfluxDB is away: the queue is paused from just before an
  // interval starts until its polls are done, then the jobs added meanwhile are weighed, with the poll
  // results they hold (a group job holds several; the tracker's records ride along and are weighed too).
  const influx = openQueue({ connection, prefix }, QUEUE.influx);
  const held = async () => {
    const counts = await influx.getJobCounts('waiting', 'prioritized');
    return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
  };
  const start = Math.ceil((Date.now() + 5000) / intervalMs) * intervalMs;
  await sleep(start - 1000 - Date.now());
  const pausedAt = Date.now();
  await influx.pause();
  await sleep(start + intervalMs - 2000 - Date.now());
  const { bytes: bytesHeld, results: polled } = await weighWaitingJobs(connection, prefix, pausedAt);
  say(`scale: ${polled} results held back for the InfluxDB sink, ${Math.round(bytesHeld / MB)} MB`);
  const resumedAt = Date.now();
  await influx.resume();
  const caughtUp = await waitUntil(async () => (await held()) === 0, 'the InfluxDB sink to catch up', {
    timeoutMs: 120_000,
  }).then(
    () => true,
    () => false,
  );
  if (!caughtUp) say('scale: the InfluxDB sink had not caught up after 120 s');
  const drainSeconds = caughtUp ? (Date.now() - resumedAt) / 1000 : Number.NaN;
  await influx.close();

  const memory = parseInfo(await connection.info('memory'));
  return {
    usedMb: Math.round((memory.used_memory ?? 0) / MB),
    peakMb: Math.round(peakBytes() / MB),
    partsMb: Object.fromEntries(
      Object.entries(parts)
        .sort(([, a], [, b]) => b - a)
        .map(([part, bytes]) => [part, Math.round((bytes / MB) * 10) / 10]),
    ),
    keys: sizes.size,
    bytesPerJobScheduler: Math.round((schedulerHashes + pendingPolls + sortedSets) / ids.size),
    schedulerHashBytes: Math.round(schedulerHashes / ids.size),
    pendingPollBytes: Math.round(pendingPolls / ids.size),
    finishedPollsKeptMb: Math.round((finishedPolls / MB) * 10) / 10,
    bytesPerWaitingResult: polled > 0 ? Math.round(bytesHeld / polled) : Number.NaN,
    waitingResults: polled,
    drainSeconds: Math.round(drainSeconds * 10) / 10,
    bytesPerTrackedSession: sessions > 0 ? Math.round(tracking / sessions) : Number.NaN,
    trackedSessions: sessions,
    siteBytesPerProxy: Math.round((parts['qsm:site'] ?? 0) / ids.size),
  };
}

/**
 * The InfluxDB sink's waiting jobs added since `since` (BullMQ 6 keeps a queue's waiting job ids in
 * `<prefix>:<queue>:wait` and each job in a hash of its own): their bytes, and the poll results they hold.
 */
async function weighWaitingJobs(
  connection: Redis,
  prefix: string,
  since: number,
): Promise<{ bytes: number; results: number }> {
  const ids = await connection.lrange(`${prefix}:${QUEUE.influx}:wait`, 0, -1);
  let bytes = 0;
  let results = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const pipe = connection.pipeline();
    for (const id of ids.slice(i, i + 500)) {
      const key = `${prefix}:${QUEUE.influx}:${id}`;
      pipe.memory('USAGE', key, 'SAMPLES', '0');
      pipe.hget(key, 'timestamp');
      pipe.hget(key, 'data');
    }
    const replies = ((await pipe.exec()) ?? []).map(([, value]) => value);
    for (let k = 0; k < replies.length; k += 3) {
      if (Number(replies[k + 1] ?? 0) < since) continue;
      bytes += Number(replies[k] ?? 0);
      const data = JSON.parse(String(replies[k + 2] ?? '{}')) as { kind?: string; members?: unknown[] };
      if (data.kind === 'group') results += data.members?.length ?? 0;
      else if (data.kind === 'sessions') results += 1;
    }
  }
  return { bytes, results };
}
