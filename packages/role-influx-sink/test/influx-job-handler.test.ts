import type { ErrorTrackingSettings, ExcludedUser, InfluxSettings } from '@qsm/config';
import type { InfluxQueueJob, PollFailure } from '@qsm/model';
import { type Job, PermanentJobError, RetryableJobError } from '@qsm/queues';
import {
  captureLogs,
  dropInfluxDatabase,
  freePort,
  influxQuery,
  influxV1TestSettings,
  influxWrite,
  rows,
  samplePollResult,
  services,
  uniqueName,
} from '@qsm/testkit';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createInfluxJobHandler } from '../src/influx-job-handler.js';
import { createInfluxOutput } from '../src/influx-output.js';

const databases: string[] = [];
afterAll(async () => {
  for (const db of databases) await dropInfluxDatabase(db);
});

// Recent times: older points would fall outside the test database's one-day retention policy.
const T = Date.now() - 60_000;

interface SetupOptions {
  url?: string;
  excludeUser?: ExcludedUser[];
  errorTracking?: ErrorTrackingSettings;
}

function setup(options: SetupOptions = {}) {
  const db = uniqueName('qsm_influx_sink');
  databases.push(db);
  const logs = captureLogs('influx-sink');
  const registry = new Registry();
  const influx = influxV1TestSettings(db);
  const output = createInfluxOutput({
    influx,
    connection: { url: options.url ?? services.influxUrl, timeoutMs: 5000 },
    flushIntervalMs: 10,
    parallelWrites: 2,
    logger: logs.logger,
    registry,
  });
  const handle = createInfluxJobHandler({
    output,
    lineSettings: () => ({
      version: 1,
      excludeUser: options.excludeUser ?? [],
      errorTracking: options.errorTracking ?? { influxdb: true, measurementName: 'butler_sos_errors' },
    }),
    logger: logs.logger,
    registry,
  });
  return { db, logs, registry, influx, output, handle };
}

const jobOf = (id: string, data: unknown) => ({ id, data, timestamp: Date.now() }) as Job<InfluxQueueJob>;
const session = (UserId: string, SessionId: string) => ({
  UserDirectory: 'LAB',
  UserId,
  SessionId,
  Attributes: [],
});

function failure(fields: Partial<PollFailure> = {}): PollFailure {
  const { v, serverName, serverDescription, hostName, serverTags, qpsHost, virtualProxy } = samplePollResult(
    [],
  );
  return {
    v,
    kind: 'error',
    serverName,
    serverDescription,
    hostName,
    serverTags,
    qpsHost,
    virtualProxy,
    failedAt: T,
    category: 'timeout',
    message: 'no answer within 5000 ms',
    url: 'https://sense1.lab:4243/qps/session',
    attempt: 1,
    timeoutMs: 5000,
    ...fields,
  };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  const matching = metric?.values.filter((v) =>
    Object.entries(labels).every(([k, value]) => v.labels[k] === value),
  );
  return matching?.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

describe('the InfluxDB sink writing one record', () => {
  it("writes a poll's summary, list and details, and returns its points and age", async () => {
    const { db, logs, registry, handle } = setup();
    const result = samplePollResult([session('alice', 's1'), session('bob', 's2')], { polledAt: T });
    const outcome = await handle(jobOf('r1', result));
    expect(outcome).toMatchObject({ points: 4 });
    expect((outcome as { ageMs: number }).ageMs).toBeGreaterThanOrEqual(60_000);
    const summary = rows(await influxQuery(db, 'SELECT * FROM short.user_session_summary'));
    expect(summary).toMatchObject([
      { time: T, session_count: 2, session_user_id_list: 'LAB\\alice,LAB\\bob' },
    ]);
    expect(rows(await influxQuery(db, 'SELECT * FROM short.user_session_details'))).toHaveLength(2);
    expect(await metricValue(registry, 'qsm_influx_points_written_total')).toBe(4);
    expect(await metricValue(registry, 'qsm_influx_write_batches_total', { outcome: 'ok' })).toBe(1);
    expect(await metricValue(registry, 'qsm_result_delivery_seconds', { sink: 'influx' })).toBeGreaterThan(0);
    // The database was created before the first write, and the log says so.
    expect(logs.messages('info')).toEqual([`created database ${db}, created retention policy short (1d)`]);
  });

  it('leaves out the blacklisted users, from the details and from the counts', async () => {
    const { db, handle } = setup({ excludeUser: [{ directory: 'LAB', userId: 'robot' }] });
    await handle(
      jobOf('r1', samplePollResult([session('alice', 's1'), session('robot', 's2')], { polledAt: T })),
    );
    const details = rows(await influxQuery(db, 'SELECT * FROM short.user_session_details'));
    expect(details.map((d) => d.user_id)).toEqual(['alice']);
    const summary = rows(await influxQuery(db, 'SELECT session_count FROM short.user_session_summary'));
    expect(summary).toMatchObject([{ session_count: 1 }]);
  });

  it("writes a failed poll as Butler SOS's error record, and nothing when error tracking is off", async () => {
    const tracked = setup();
    expect(await tracked.handle(jobOf('e1', failure()))).toMatchObject({ points: 1 });
    expect(rows(await influxQuery(tracked.db, 'SELECT * FROM short.butler_sos_errors'))).toMatchObject([
      {
        time: T,
        error_type: 'PROXY_API',
        server_name: 'sense1',
        host: 'sense1.lab:4243',
        virtual_proxy: '/',
        error_count: 1,
        error_category: 'timeout',
        error_message: 'no answer within 5000 ms',
        request_url: 'https://sense1.lab:4243/qps/session',
        request_timeout_ms: 5000,
      },
    ]);
    const untracked = setup({ errorTracking: { influxdb: false, measurementName: 'butler_sos_errors' } });
    expect(await untracked.handle(jobOf('e2', failure()))).toMatchObject({ points: 0 });
    expect(await metricValue(untracked.registry, 'qsm_influx_write_batches_total')).toBe(0);
  });

  it('writes a failed read of the Qlik repository as an error record of its own type', async () => {
    const { db, handle } = setup();
    const record = {
      v: 1,
      kind: 'repository_error',
      repository: 'qrs.lab:4242',
      failedAt: T,
      category: 'connection_refused',
      message: 'the repository at qrs.lab:4242 refused the connection',
      url: 'https://qrs.lab:4242/qrs/proxyservice/full',
      code: 'ECONNREFUSED',
    };
    expect(await handle(jobOf('q1', record))).toMatchObject({ points: 1 });
    expect(rows(await influxQuery(db, 'SELECT * FROM short.butler_sos_errors'))).toMatchObject([
      {
        time: T,
        error_type: 'QRS_API',
        server_name: 'qrs.lab:4242',
        host: 'qrs.lab:4242',
        module: 'discovery',
        error_count: 1,
        error_category: 'connection_refused',
        error_code: 'ECONNREFUSED',
        request_url: 'https://qrs.lab:4242/qrs/proxyservice/full',
      },
    ]);
  });

  it('fails a malformed record for good, naming the field', async () => {
    const { handle } = setup();
    const bad = { ...samplePollResult([], { polledAt: T }), polledAt: 'yesterday' };
    const error = await handle(jobOf('bad', bad)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as PermanentJobError).category).toBe('invalid_job');
    expect((error as Error).message).toMatch(/^invalid_job: polledAt: /);
  });

  it('fails a record InfluxDB refuses for good, logs it, and keeps what InfluxDB took of it', async () => {
    const { db, logs, registry, handle } = setup();
    await handle(jobOf('e1', failure())); // creates the database and its retention policy
    // A field type conflict: session_count was written as a string before.
    await influxWrite({ db, rp: 'short' }, [`user_session_summary,host=other session_count="many" ${T}`]);
    const result = samplePollResult([session('alice', 's1')], { polledAt: T });
    const error = await handle(jobOf('r1', result)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as Error).message).toMatch(
      /^influx_rejected: .*HTTP 400: partial write: field type conflict/,
    );
    expect(await metricValue(registry, 'qsm_influx_points_rejected_total')).toBe(1);
    expect(logs.lines.filter((l) => l.level === 50)).toMatchObject([
      {
        jobId: 'r1',
        status: 400,
        msg: expect.stringMatching(/^InfluxDB rejected a result: .*partial write/),
      },
    ]);
    // The list and the details were not taken down with the summary.
    expect(rows(await influxQuery(db, 'SELECT * FROM short.user_session_list'))).toHaveLength(1);
    expect(rows(await influxQuery(db, 'SELECT * FROM short.user_session_details'))).toHaveLength(1);
  });
});

describe('the InfluxDB sink writing a group of records', () => {
  it("writes every record and returns each one's age", async () => {
    const { db, handle } = setup();
    const group = {
      v: 1,
      kind: 'group',
      members: ['/a', '/b', '/c'].map((virtualProxy, i) => ({
        id: `m${i}`,
        data: samplePollResult([session(`u${i}`, `s${i}`)], { polledAt: T + i, virtualProxy }),
      })),
    };
    const outcome = await handle(jobOf('g1', group));
    expect(outcome).toMatchObject({ points: 9, records: 3 });
    expect((outcome as { agesMs: number[] }).agesMs).toHaveLength(3);
    expect(rows(await influxQuery(db, 'SELECT * FROM short.user_session_details'))).toHaveLength(3);
  });

  it('writes the good records of a group and fails the job for good, naming the malformed one', async () => {
    const { db, handle } = setup();
    const good = (i: number) =>
      samplePollResult([session(`u${i}`, `s${i}`)], { polledAt: T + i, virtualProxy: `/${i}` });
    const group = {
      v: 1,
      kind: 'group',
      members: [
        { id: 'm0', data: good(0) },
        { id: 'm1', data: { ...good(1), sessions: [{ UserDirectory: 'LAB', UserId: 7, SessionId: 'x' }] } },
        { id: 'm2', data: good(2) },
      ],
    };
    const error = await handle(jobOf('g1', group)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as Error).message).toBe(
      'invalid_job: 1 of the 3 records of this group: m1: sessions[0]: UserId must be a string, got number 7',
    );
    const details = rows(await influxQuery(db, 'SELECT * FROM short.user_session_details'));
    expect(details.map((d) => d.user_id).sort()).toEqual(['u0', 'u2']);
  });

  it('refuses a malformed group whole', async () => {
    const { handle } = setup();
    const error = await handle(jobOf('g1', { v: 1, kind: 'group', members: [] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as Error).message).toMatch(/^invalid_job: members: /);
  });
});

describe('the InfluxDB sink while InfluxDB is away', () => {
  it('retries the whole job, and says once that InfluxDB is away', async () => {
    const { logs, registry, output, handle } = setup({ url: `http://127.0.0.1:${await freePort()}` });
    for (const id of ['r1', 'r2']) {
      const error = await handle(jobOf(id, samplePollResult([], { polledAt: T }))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableJobError);
      expect((error as RetryableJobError).category).toBe('influx_unavailable');
    }
    expect(logs.messages('warn')).toEqual([
      expect.stringMatching(/^influxdb unavailable: .*; work waits in the queue and is retried$/),
    ]);
    expect(await metricValue(registry, 'qsm_influx_write_batches_total', { outcome: 'unavailable' })).toBe(2);
    expect((await output.checks()).influxdb).toMatch(
      /^down: InfluxDB v1 http:\/\/127\.0\.0\.1:\d+ .* does not answer$/,
    );
  });
});

describe('the InfluxDB sink given a new config', () => {
  it('asks for a restart when the destination changed, not when it is the same', async () => {
    const { logs, influx, output } = setup();
    // The same settings, read in another key order.
    output.applySettings(Object.fromEntries(Object.entries(influx).reverse()) as InfluxSettings);
    expect(logs.messages('warn')).toEqual([]);
    output.applySettings({ ...influx, maxBatchSize: 500 });
    expect(logs.messages('warn')).toEqual([
      'influxdbConfig changed: restart the InfluxDB sink to write to the new destination',
    ]);
  });
});
