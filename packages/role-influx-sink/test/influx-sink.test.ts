import { influxSinkEnvSchema, readEnvironment, type Settings } from '@qsm/config';
import { createResultDelivery, QUEUE, resultJobId } from '@qsm/queues';
import {
  captureLogs,
  dropInfluxDatabase,
  influxQuery,
  influxV1TestSettings,
  rows,
  samplePollResult,
  services,
  uniqueName,
  useTestRedis,
  waitUntil,
} from '@qsm/testkit';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startInfluxSink } from '../src/index.js';

const { prefix, connection } = useTestRedis('influx_sink_role');
const db = uniqueName('qsm_influx_sink_role');

afterAll(async () => {
  await dropInfluxDatabase(db);
});

describe('the InfluxDB sink role', () => {
  it('applies a reloaded blacklist to the next result, and asks for a restart only when influxdbConfig changed', async () => {
    const logs = captureLogs('influx-sink');
    const influxdbConfig: Settings['influxdbConfig'] = influxV1TestSettings(db);
    const settings = {
      influxdbConfig,
      userSessions: { enableSessionExtract: true, pollingInterval: 30_000, excludeUser: [] },
      errorTracking: { influxdb: true, measurementName: 'butler_sos_errors' },
    } as unknown as Settings;
    const env = readEnvironment(influxSinkEnvSchema, {
      INFLUX_URL: services.influxUrl,
      INFLUX_FLUSH_INTERVAL_MS: '10',
    });
    const role = await startInfluxSink(
      {
        logger: logs.logger,
        registry: new Registry(),
        metricsTexts: { defaultLabels: {}, sources: new Map() },
        queues: { connection: connection(), prefix },
        shutdownTimeoutMs: 5000,
        workerLockMs: 5000,
        settings,
      },
      env,
    );
    const delivery = createResultDelivery({ connection: connection(), prefix });
    try {
      await waitUntil(async () => (await role.checks()).influxdb === 'up', 'InfluxDB up');
      await role.applySettings({
        ...settings,
        influxdbConfig: Object.fromEntries(Object.entries(influxdbConfig).reverse()) as typeof influxdbConfig,
        userSessions: { ...settings.userSessions, excludeUser: [{ directory: 'LAB', userId: 'robot' }] },
      });
      expect(logs.messages('warn')).toEqual([]);
      const polledAt = Date.now() - 1000;
      const sessions = ['alice', 'robot'].map((UserId) => ({
        UserDirectory: 'LAB',
        UserId,
        SessionId: UserId,
      }));
      const id = resultJobId({ serverName: 'sense1', virtualProxy: '/' }, polledAt);
      await delivery.deliver([{ queue: QUEUE.influx, id, data: samplePollResult(sessions, { polledAt }) }]);
      const details = await waitUntil(async () => {
        const found = rows(await influxQuery(db, 'SELECT * FROM short.user_session_details'));
        return found.length > 0 ? found : undefined;
      }, 'the details in InfluxDB');
      expect(details.map((d) => d.user_id)).toEqual(['alice']);
      await role.applySettings({ ...settings, influxdbConfig: { ...influxdbConfig, port: 8087 } });
      expect(logs.messages('warn')).toEqual([
        'influxdbConfig changed: restart the InfluxDB sink to write to the new destination',
      ]);
    } finally {
      await delivery.close();
      await role.stop();
    }
  });
});
