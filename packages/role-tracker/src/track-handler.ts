import type { Logger } from '@qsm/logging';
import {
  PAYLOAD_VERSION,
  type ServerIdentity,
  type SessionEvent,
  type SessionEventsRecord,
  type TrackJob,
  type TrackResultJob,
} from '@qsm/model';
import {
  type Job,
  parseJobData,
  QUEUE,
  type ResultDelivery,
  type SinkJobSpec,
  schedulerIdFor,
} from '@qsm/queues';
import type { TrackingStore, TrackOutcome } from '@qsm/redis';
import type { TrackerMetrics } from './tracker-metrics.js';

export interface TrackHandlerDeps {
  store: TrackingStore;
  delivery: Pick<ResultDelivery, 'deliver'>;
  /** The sink queues enabled now (influxdbConfig.enable, mqttConfig.enable). */
  sinkQueues(): Array<typeof QUEUE.influx | typeof QUEUE.mqtt>;
  metrics: TrackerMetrics;
  logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /**
   * Runs after a change's state and outbox are written and before the outbox is delivered: the fault
   * tests kill the tracker here (TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS).
   */
  beforeDelivery?: (outboxId: string) => Promise<void>;
  /** Called for each result with what applying it did (the site figures hook in here). */
  afterResult?: (result: TrackResultJob, outcome: TrackOutcome) => Promise<void>;
  now?: () => number;
}

/** What a completed track job returns (Bull Board shows it). */
export interface TrackJobOutcome {
  outcome: TrackOutcome['outcome'];
  starts: number;
  ends: number;
  /** The sink queues the events went to. */
  delivered: string[];
}

/** An outbox as the tracking script writes it. */
interface Outbox {
  identity: ServerIdentity;
  time: number;
  intervalMs: number;
  events: SessionEvent[];
}

/** The (server, virtual proxy) a track job is about, as the tracking store's target id. */
export const trackTargetId = (job: Pick<TrackJob, 'serverName' | 'virtualProxy'>) => schedulerIdFor(job);

/**
 * The id of the outbox a track job's change writes, and (with a suffix) of the event jobs delivered from
 * it: made of the job's data, so every attempt of one job, and a second delivery of the same poll, use it.
 */
export function trackOutboxId(job: TrackJob): string {
  return job.kind === 'track_result'
    ? `${trackTargetId(job)}|${job.polledAt}`
    : `${trackTargetId(job)}|retired|${job.retiredAt}`;
}

/** The job id of the events of an outbox in each sink queue. */
export const sessionEventsJobId = (outboxId: string) => `${outboxId}|events`;

/**
 * The processor of the session-track queue. A poll result is applied to its proxy's state in Redis (one
 * Lua step that also writes the derived events to an outbox); a retirement ends the proxy's open sessions.
 * The outbox then goes to each enabled sink queue as one SessionEventsRecord job with an id derived from
 * the change, and is deleted. A job retried after a crash at any point finds either the outbox (and
 * delivers it again, under the same ids: BullMQ keeps the first) or nothing left to do.
 */
export function createTrackHandler(deps: TrackHandlerDeps) {
  const { store, metrics } = deps;
  const now = deps.now ?? Date.now;

  const deliver = async (outboxId: string, outbox: string, polledAt?: number): Promise<TrackJobOutcome> => {
    const parsed = JSON.parse(outbox) as Outbox;
    const record: SessionEventsRecord = {
      v: PAYLOAD_VERSION,
      kind: 'session_events',
      ...parsed.identity,
      time: parsed.time,
      pollIntervalMs: parsed.intervalMs,
      events: parsed.events,
    };
    await deps.beforeDelivery?.(outboxId);
    const id = sessionEventsJobId(outboxId);
    const jobs: SinkJobSpec[] = deps.sinkQueues().map((queue) => ({ queue, id, data: record }));
    await deps.delivery.deliver(jobs);
    await store.clearOutbox(outboxId);
    let starts = 0;
    let ends = 0;
    for (const event of record.events) {
      if (event.event === 'start') starts++;
      else {
        ends++;
        metrics.ends.inc({ reason: event.reason ?? 'gone' });
        metrics.duration.observe(Math.max(0, event.lastSeen - event.firstSeen) / 1000);
      }
    }
    metrics.starts.inc(starts);
    if (polledAt !== undefined) metrics.lag.observe(Math.max(0, now() - polledAt) / 1000);
    return { outcome: 'applied', starts, ends, delivered: jobs.map((j) => j.queue) };
  };

  return async function handleTrackJob(job: Pick<Job<TrackJob>, 'data'>): Promise<TrackJobOutcome> {
    const data = parseJobData(QUEUE.track, job.data);
    const outboxId = trackOutboxId(data);
    let outcome: TrackOutcome;
    if (data.kind === 'track_result') {
      outcome = await store.apply({
        targetId: trackTargetId(data),
        outboxId,
        polledAt: data.polledAt,
        identityJson: JSON.stringify(identityOf(data)),
        intervalMs: data.intervalMs,
        sessions: data.sessions,
      });
      metrics.results.inc({ outcome: outcome.outcome });
      if (outcome.outcome === 'older') {
        deps.logger.debug(
          { server: data.serverName, virtualProxy: data.virtualProxy, polledAt: data.polledAt },
          'result not newer than the last one applied for its proxy: ignored',
        );
      }
      await deps.afterResult?.(data, outcome);
    } else {
      outcome = await store.retire({
        targetId: trackTargetId(data),
        outboxId,
        retiredAt: data.retiredAt,
      });
    }
    if (outcome.outcome === 'older' || !outcome.outbox) {
      return { outcome: outcome.outcome, starts: 0, ends: 0, delivered: [] };
    }
    const delivered = await deliver(
      outboxId,
      outcome.outbox,
      data.kind === 'track_result' ? data.polledAt : undefined,
    );
    return { ...delivered, outcome: outcome.outcome };
  };
}

/** The proxy's identity, as the events' records carry it (and a retirement's, from the state). */
function identityOf(result: TrackResultJob): ServerIdentity {
  return {
    serverName: result.serverName,
    serverDescription: result.serverDescription,
    hostName: result.hostName,
    serverTags: result.serverTags,
    qpsHost: result.qpsHost,
    virtualProxy: result.virtualProxy,
  };
}
