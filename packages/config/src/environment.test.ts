import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { commonEnvSchema, mqttSinkEnvSchema, readEnvironment } from './environment.js';

describe('deployment settings from the environment', () => {
  it('has defaults for everything', () => {
    expect(readEnvironment(commonEnvSchema, {})).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'qsm',
      LOG_LEVEL: 'info',
    });
  });

  it('accepts rediss:// URLs with a password and a hash-tag prefix for Redis Cluster', () => {
    expect(
      readEnvironment(commonEnvSchema, {
        REDIS_URL: 'rediss://:secret@redis.lab:6380',
        QUEUE_PREFIX: '{qsm}',
      }),
    ).toMatchObject({ REDIS_URL: 'rediss://:secret@redis.lab:6380', QUEUE_PREFIX: '{qsm}' });
  });

  it('treats an empty variable as unset', () => {
    expect(readEnvironment(commonEnvSchema, { LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });

  it('reports every bad variable with its name', () => {
    try {
      readEnvironment(commonEnvSchema, { REDIS_URL: 'http://x', QUEUE_PREFIX: 'a:b', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.path)).toEqual([
        'env.REDIS_URL',
        'env.QUEUE_PREFIX',
        'env.LOG_LEVEL',
      ]);
      expect((error as ConfigError).message).toContain(
        'env.REDIS_URL: must be a URL starting with redis:// or rediss://',
      );
    }
  });

  it('parses numbers and switches', () => {
    expect(readEnvironment(mqttSinkEnvSchema, { MQTT_QOS: '2', MQTT_RETAIN: 'true' })).toMatchObject({
      MQTT_QOS: 2,
      MQTT_RETAIN: true,
    });
    expect(() => readEnvironment(mqttSinkEnvSchema, { MQTT_QOS: '3' })).toThrow(
      'env.MQTT_QOS: must be 0, 1 or 2',
    );
  });
});
