import { type Job, openQueue, QUEUE, RetryableJobError, sinkJobOptions, startWorker } from '@qsm/queues';
import { captureLogs, useTestRedis, waitUntil } from '@qsm/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createSinkRetries } from '../src/index.js';

interface Record {
  polledAt: number;
  results?: number;
}

async function counted(registry: Registry, name: string, sink: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.sink === sink)?.value ?? 0;
}

function setup(maxAgeMs = 60_000, maxBackoffMs = 30_000) {
  const logs = captureLogs('test-sink');
  const registry = new Registry();
  const retries = createSinkRetries<Record>({
    sink: 'influx',
    maxAgeMs,
    maxBackoffMs,
    logger: logs.logger,
    registry,
    bornAt: (job) => job?.data.polledAt ?? Date.now(),
    resultsOf: (job) => job?.data.results ?? 1,
  });
  return { logs, registry, retries };
}

const jobOf = (id: string, data: Record) => ({ id, data }) as Job<Record>;

describe('the retry decision of a sink', () => {
  it('tries a young result again after a second, and counts the retry', async () => {
    const { logs, registry, retries } = setup();
    const delay = retries.backoff(1, jobOf('a', { polledAt: Date.now() }));
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1200);
    expect(await counted(registry, 'qsm_sink_retries_total', 'influx')).toBe(1);
    expect(await counted(registry, 'qsm_sink_results_given_up_total', 'influx')).toBe(0);
    expect(logs.messages('info')).toEqual([]);
  });

  it('doubles the wait per attempt up to SINK_MAX_BACKOFF_MS', () => {
    const { retries } = setup(3_600_000, 5_000);
    const job = jobOf('a', { polledAt: Date.now() });
    expect(retries.backoff(3, job)).toBeGreaterThanOrEqual(3200);
    expect(retries.backoff(3, job)).toBeLessThanOrEqual(4800);
    for (let i = 0; i < 20; i++) expect(retries.backoff(10, job)).toBeLessThanOrEqual(6000);
  });

  it('gives up a result whose next try would come after SINK_MAX_AGE_MS, and names its job', async () => {
    const { logs, registry, retries } = setup(60_000);
    expect(retries.backoff(5, jobOf('sink-influx|old', { polledAt: Date.now() - 59_500 }))).toBe(-1);
    expect(await counted(registry, 'qsm_sink_results_given_up_total', 'influx')).toBe(1);
    expect(await counted(registry, 'qsm_sink_retries_total', 'influx')).toBe(0);
    expect(logs.lines).toMatchObject([
      {
        level: 50,
        jobId: 'sink-influx|old',
        sink: 'influx',
        msg: 'gave up on a result not delivered within SINK_MAX_AGE_MS (60000 ms)',
      },
    ]);
  });

  it('counts each result of a group given up', async () => {
    const { logs, registry, retries } = setup(60_000);
    expect(retries.backoff(1, jobOf('group|1', { polledAt: Date.now() - 120_000, results: 7 }))).toBe(-1);
    expect(await counted(registry, 'qsm_sink_results_given_up_total', 'influx')).toBe(7);
    expect(logs.messages('error')).toEqual([
      'gave up on a group of 7 results not delivered within SINK_MAX_AGE_MS (60000 ms)',
    ]);
  });

  it('shares its metrics between two sinks of one process, by sink label', async () => {
    const logs = captureLogs('all-in-one');
    const registry = new Registry();
    const settings = { maxAgeMs: 1000, maxBackoffMs: 1000, logger: logs.logger, registry };
    const bornAt = () => Date.now() - 5000;
    createSinkRetries<Record>({ ...settings, sink: 'influx', bornAt }).backoff(1, undefined);
    createSinkRetries<Record>({ ...settings, sink: 'mqtt', bornAt }).backoff(1, undefined);
    expect(await counted(registry, 'qsm_sink_results_given_up_total', 'influx')).toBe(1);
    expect(await counted(registry, 'qsm_sink_results_given_up_total', 'mqtt')).toBe(1);
  });
});

describe('the retry decision as BullMQ uses it', () => {
  const { prefix, connection } = useTestRedis('sink-retries');

  it('retries a failing job while it is young, then fails it for good with its reason', async () => {
    const { logs, registry, retries } = setup(2500, 200);
    const context = { connection: connection(), prefix };
    const queue = openQueue<Record>(context, QUEUE.influx);
    let attempts = 0;
    const worker = startWorker<Record>({
      queue: QUEUE.influx,
      context,
      concurrency: 1,
      processor: async () => {
        attempts++;
        throw new RetryableJobError('influx_unavailable', 'connect ECONNREFUSED 127.0.0.1:1');
      },
      backoff: retries.backoff,
      onError: (error) => logs.logger.debug({ err: error }, 'worker error'),
    });
    await queue.add('r', { polledAt: Date.now() }, { ...sinkJobOptions, jobId: 'r1' });
    await waitUntil(async () => (await queue.getJobState('r1')) === 'failed', 'the job to fail');
    await worker.close();
    const job = await queue.getJob('r1');
    expect(job?.failedReason).toBe('influx_unavailable: connect ECONNREFUSED 127.0.0.1:1');
    expect(attempts).toBeGreaterThan(2);
    expect(await counted(registry, 'qsm_sink_retries_total', 'influx')).toBe(attempts - 1);
    expect(await counted(registry, 'qsm_sink_results_given_up_total', 'influx')).toBe(1);
    expect(logs.lines.filter((l) => l.jobId === 'r1')).toHaveLength(1);
    await queue.close();
  });
});
