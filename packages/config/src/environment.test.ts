import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { boardEnvSchema, commonEnvSchema, mqttSinkEnvSchema, readEnvironment } from './environment.js';

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

  it('on Redis Cluster (REDIS_CLUSTER), wants a hash-tag prefix and database 0', () => {
    expect(
      readEnvironment(commonEnvSchema, {
        REDIS_URL: 'redis://node1:7000',
        REDIS_CLUSTER: 'true',
        QUEUE_PREFIX: '{qsm}',
      }),
    ).toMatchObject({ REDIS_CLUSTER: true, QUEUE_PREFIX: '{qsm}' });
    expect(readEnvironment(commonEnvSchema, {}).REDIS_CLUSTER).toBe(false);
    try {
      readEnvironment(commonEnvSchema, {
        REDIS_URL: 'redis://node1:7000/2',
        REDIS_CLUSTER: 'true',
        QUEUE_PREFIX: 'qsm',
      });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
        'env.QUEUE_PREFIX: needs a hash tag on Redis Cluster (REDIS_CLUSTER=true), e.g. {qsm}: the keys of a queue must share a slot',
        'env.REDIS_URL: a Redis Cluster has only database 0: remove the /<db> from REDIS_URL',
      ]);
    }
  });

  it('gives the board a login, or lets it run open only on this machine', () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        readEnvironment(boardEnvSchema, env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      }
    };
    expect(problems({ BOARD_USERNAME: 'ops', BOARD_PASSWORD: 'pw', BOARD_HOST: '0.0.0.0' })).toEqual([]);
    expect(problems({ BOARD_ALLOW_OPEN: 'true' })).toEqual([]);
    expect(problems({})).toEqual([
      'env.BOARD_PASSWORD: the board needs a login: set BOARD_USERNAME and BOARD_PASSWORD (or BOARD_ALLOW_OPEN=true with BOARD_HOST=127.0.0.1)',
    ]);
    expect(problems({ BOARD_USERNAME: 'ops' })).toEqual(['env.BOARD_PASSWORD: required with BOARD_USERNAME']);
    expect(problems({ BOARD_PASSWORD: 'pw' })).toEqual(['env.BOARD_USERNAME: required with BOARD_PASSWORD']);
    expect(problems({ BOARD_ALLOW_OPEN: 'true', BOARD_HOST: '0.0.0.0' })).toEqual([
      'env.BOARD_ALLOW_OPEN: only works with BOARD_HOST on this machine (127.0.0.1), not 0.0.0.0: set BOARD_USERNAME and BOARD_PASSWORD',
    ]);
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

  it('checks at start that every certificate file it is given can be read', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'env-files-'));
    const ca = path.join(dir, 'ca.pem');
    writeFileSync(ca, 'pem');
    expect(readEnvironment(mqttSinkEnvSchema, { MQTT_CA_FILE: ca }).MQTT_CA_FILE).toBe(ca);
    const problems = problemsOf(() =>
      readEnvironment(mqttSinkEnvSchema, {
        MQTT_CA_FILE: path.join(dir, 'missing.pem'),
        MQTT_CERT_FILE: dir,
      }),
    );
    expect(problems).toEqual([
      `env.MQTT_CA_FILE: cannot read ${path.join(dir, 'missing.pem')} (ENOENT)`,
      `env.MQTT_CERT_FILE: ${dir} is not a file`,
    ]);
  });

  it('takes a CA and a client certificate for a rediss:// URL, and refuses them for redis://', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'env-redis-tls-'));
    const [ca, cert, key] = ['ca.pem', 'client.pem', 'client_key.pem'].map((name) => {
      writeFileSync(path.join(dir, name), 'pem');
      return path.join(dir, name);
    });
    const files = { REDIS_CA_FILE: ca, REDIS_CERT_FILE: cert, REDIS_KEY_FILE: key };
    expect(
      readEnvironment(commonEnvSchema, {
        REDIS_URL: 'rediss://:pw@redis.lab:6380',
        ...files,
        REDIS_REJECT_UNAUTHORIZED: 'false',
      }),
    ).toMatchObject({ ...files, REDIS_REJECT_UNAUTHORIZED: false });
    expect(
      problemsOf(() => readEnvironment(commonEnvSchema, { REDIS_URL: 'redis://redis.lab', ...files })),
    ).toEqual(
      ['REDIS_CA_FILE', 'REDIS_CERT_FILE', 'REDIS_KEY_FILE'].map(
        (name) => `env.${name}: only used with a rediss:// REDIS_URL (TLS); REDIS_URL is redis://`,
      ),
    );
    expect(
      problemsOf(() =>
        readEnvironment(commonEnvSchema, { REDIS_URL: 'rediss://redis.lab', REDIS_CERT_FILE: cert }),
      ),
    ).toEqual(['env.REDIS_KEY_FILE: required with REDIS_CERT_FILE']);
  });

  it('wants a client certificate and its key together', () => {
    const key = path.join(mkdtempSync(path.join(tmpdir(), 'env-pair-')), 'client_key.pem');
    writeFileSync(key, 'pem');
    expect(problemsOf(() => readEnvironment(mqttSinkEnvSchema, { MQTT_KEY_FILE: key }))).toEqual([
      'env.MQTT_CERT_FILE: required with MQTT_KEY_FILE',
    ]);
  });
});

function problemsOf(read: () => unknown): string[] {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  throw new Error('no problem reported');
}
