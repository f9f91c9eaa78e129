import { mqttSinkEnvSchema, readEnvironment, type Settings } from '@qsm/config';
import { createResultDelivery, QUEUE, resultJobId } from '@qsm/queues';
import {
  captureLogs,
  collectMqtt,
  samplePollResult,
  services,
  uniqueName,
  useTestRedis,
  waitUntil,
} from '@qsm/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { brokerUrl, startMqttSink } from '../src/mqtt-sink.js';

const { prefix, connection } = useTestRedis('mqtt_sink_role');

const settingsWith = (mqttConfig: Settings['mqttConfig']) => ({ mqttConfig }) as Settings;

describe("the MQTT sink's broker address", () => {
  it("is MQTT_URL when set, else Butler SOS's host and port, an IPv6 host in brackets", () => {
    const config = settingsWith({ enable: true, brokerHost: 'fd00::1', brokerPort: 1884, baseTopic: 'b/' });
    expect(brokerUrl(config, {})).toBe('mqtt://[fd00::1]:1884');
    expect(brokerUrl(config, { MQTT_URL: 'mqtts://broker:8883' })).toBe('mqtts://broker:8883');
    const named = settingsWith({ enable: true, brokerHost: 'broker.lab', brokerPort: 1883, baseTopic: 'b/' });
    expect(brokerUrl(named, {})).toBe('mqtt://broker.lab:1883');
  });
});

describe('the MQTT sink given a new config', () => {
  it('publishes to a new base topic at once, and asks for a restart only when mqttConfig changed', async () => {
    const logs = captureLogs('mqtt-sink');
    const base = `qsm-test/${uniqueName('role')}/`;
    const first = {
      enable: true as const,
      brokerHost: '127.0.0.1',
      brokerPort: 1883,
      baseTopic: `${base}a/`,
    };
    const env = readEnvironment(mqttSinkEnvSchema, { MQTT_URL: services.mqttUrl });
    const role = await startMqttSink(
      {
        logger: logs.logger,
        registry: new Registry(),
        metricsTexts: { defaultLabels: {}, sources: new Map() },
        queues: { connection: connection(), prefix },
        shutdownTimeoutMs: 5000,
        workerLockMs: 5000,
        settings: settingsWith(first),
      },
      env,
    );
    const subscriber = await collectMqtt(`${base}#`);
    const delivery = createResultDelivery({ connection: connection(), prefix });
    try {
      await waitUntil(async () => (await role.checks()).mqtt === 'up', 'the broker connection');
      // The same settings, read in another key order: nothing to say.
      await role.applySettings(
        settingsWith(Object.fromEntries(Object.entries(first).reverse()) as typeof first),
      );
      expect(logs.messages('warn')).toEqual([]);
      await role.applySettings(settingsWith({ ...first, baseTopic: `${base}b/` }));
      expect(logs.messages('warn')).toEqual([
        'mqttConfig changed: the base topic applies now; restart the MQTT sink for a new broker',
      ]);
      const result = samplePollResult([], { polledAt: Date.now() });
      const id = resultJobId({ serverName: 'sense1', virtualProxy: '/' }, result.polledAt);
      await delivery.deliver([{ queue: QUEUE.mqtt, id, data: result }]);
      await waitUntil(() => subscriber.messages.length === 1, 'the snapshot');
      expect(subscriber.messages[0]?.topic).toBe(`${base}b/sense1.lab/usersession/`);
    } finally {
      await subscriber.close();
      await delivery.close();
      await role.stop();
    }
  });
});
