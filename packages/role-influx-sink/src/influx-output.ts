import { isDeepStrictEqual } from 'node:util';
import type { InfluxSettings } from '@qsm/config';
import { createInfluxWriter, createPointBatcher, type InfluxConnectionOverrides } from '@qsm/influx';
import type { Logger } from '@qsm/logging';
import { createStateLog } from '@qsm/sink';
import type { Registry } from 'prom-client';
import { influxSinkMetrics } from './influx-sink-metrics.js';

export interface InfluxOutputSettings {
  /** `influxdbConfig` as the sink started with it: the destination for the sink's whole life. */
  influx: Extract<InfluxSettings, { enable: true }>;
  connection: InfluxConnectionOverrides;
  flushIntervalMs: number;
  parallelWrites: number;
  logger: Logger;
  registry: Registry;
}

export interface InfluxOutput {
  /** Queues the lines of one record; resolves once InfluxDB acknowledged them. Throws InfluxWriteError. */
  add(aggregates: string[], details: string[]): Promise<void>;
  /** `InfluxDB v1 http://influx:8086 db senseops`, for logs. */
  readonly description: string;
  /** The destination's state for readiness; InfluxDB is asked at most every two seconds. */
  checks(): Promise<{ influxdb: string }>;
  /** A new config was loaded: a new destination takes a restart, which the log says. */
  applySettings(next: InfluxSettings): void;
  /** Writes what is queued and waits for every write in flight. */
  flush(): Promise<void>;
}

/**
 * The sink's side of InfluxDB: one writer, created for the config the sink started with, whose target
 * (database, bucket) is created before the first write, and a batcher that puts the lines of many jobs
 * into one write. Each write is counted and timed; InfluxDB going away and coming back is logged once each.
 */
export function createInfluxOutput(settings: InfluxOutputSettings): InfluxOutput {
  const { influx, logger } = settings;
  const metrics = influxSinkMetrics(settings.registry);
  const state = createStateLog(logger, 'influxdb');
  const writer = createInfluxWriter(influx, settings.connection);
  let targetReady = false;

  const batcher = createPointBatcher({
    maxPoints: influx.maxBatchSize,
    flushIntervalMs: settings.flushIntervalMs,
    parallelWrites: settings.parallelWrites,
    async write(lines) {
      if (!targetReady) {
        const note = await writer.ensureTarget();
        targetReady = true;
        if (note) logger.info({ destination: writer.description }, note);
      }
      await writer.write(lines);
    },
    onBatch({ lines, durationMs, error }) {
      metrics.batchDuration.observe(durationMs / 1000);
      if (!error) {
        metrics.batches.inc({ outcome: 'ok' });
        metrics.points.inc(lines);
        state.up(writer.description);
        return;
      }
      metrics.batches.inc({ outcome: error.kind });
      if (error.kind === 'unavailable') state.down(error.message);
    },
  });

  let current: InfluxSettings = influx;
  let lastPing = { at: 0, ok: false };
  return {
    add: (aggregates, details) => batcher.add(aggregates, details),
    description: writer.description,
    async checks() {
      if (Date.now() - lastPing.at > 2000) lastPing = { at: Date.now(), ok: await writer.ping() };
      return { influxdb: lastPing.ok ? 'up' : `down: ${writer.description} does not answer` };
    },
    applySettings(next) {
      if (!isDeepStrictEqual(next, current)) {
        logger.warn('influxdbConfig changed: restart the InfluxDB sink to write to the new destination');
      }
      current = next;
    },
    flush: () => batcher.flush(),
  };
}
