import { describe, expect, it } from 'vitest';
import type { ConfigError } from './config-error.js';
import { commonEnvSchema, readEnvironment } from './environment.js';
import {
  formatQueueShard,
  inQueueShard,
  parseQueueShard,
  queueShardOf,
  settingsForQueueShard,
} from './queue-shard.js';
import type { ServerSettings, Settings } from './settings.js';

const problems = (env: NodeJS.ProcessEnv) => {
  try {
    readEnvironment(commonEnvSchema, env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
};

const names = Array.from({ length: 1000 }, (_, i) => `sense-${i}.lab`);

function server(serverName: string): ServerSettings {
  return {
    host: `${serverName}:4747`,
    hostName: serverName,
    serverName,
    serverDescription: '',
    userSessions: { enable: true, host: `${serverName}:4243`, virtualProxies: ['/'] },
    serverTags: {},
  };
}

function settingsWith(servers: ServerSettings[]): Settings {
  return {
    configFile: '/x/c.yaml',
    userSessions: { enableSessionExtract: true, pollingInterval: 30_000, excludeUser: [] },
    serversToMonitor: { rejectUnauthorized: false, serverTagsDefinition: [], servers },
    cert: null,
    influxdbConfig: { enable: false },
    mqttConfig: { enable: false },
    prometheus: { enable: false },
    errorTracking: { influxdb: true, measurementName: 'butler_sos_errors' },
  };
}

describe('QUEUE_SHARD', () => {
  it('is unset by default (the whole estate) and reads k/N', () => {
    expect(readEnvironment(commonEnvSchema, {}).QUEUE_SHARD).toBeUndefined();
    expect(readEnvironment(commonEnvSchema, { QUEUE_SHARD: '2/3' }).QUEUE_SHARD).toEqual({
      index: 2,
      count: 3,
    });
    expect(readEnvironment(commonEnvSchema, { QUEUE_SHARD: '1/1' }).QUEUE_SHARD).toEqual({
      index: 1,
      count: 1,
    });
  });

  it('names the variable and what is wrong with a bad value', () => {
    expect(problems({ QUEUE_SHARD: '3/2' })).toEqual([
      'env.QUEUE_SHARD: k must be between 1 and N=2 (got 3/2)',
    ]);
    expect(problems({ QUEUE_SHARD: '0/2' })).toEqual([
      'env.QUEUE_SHARD: k must be between 1 and N=2 (got 0/2)',
    ]);
    expect(problems({ QUEUE_SHARD: '0/0' })).toEqual(['env.QUEUE_SHARD: N must be at least 1 (got 0/0)']);
    for (const value of ['2', '1/2.5', 'a/b', '-1/2', '1/2/3', '1 of 2'])
      expect(problems({ QUEUE_SHARD: value })).toEqual([
        `env.QUEUE_SHARD: must be k/N with whole numbers, 1 <= k <= N (e.g. 1/2), not "${value}"`,
      ]);
  });

  it('is written as k/N, or all when unset', () => {
    expect(formatQueueShard({ index: 1, count: 4 })).toBe('1/4');
    expect(formatQueueShard(undefined)).toBe('all');
    expect(parseQueueShard(' 1/4 ')).toEqual({ ok: true, shard: { index: 1, count: 4 } });
  });
});

describe('the shard of a server', () => {
  it('is stable: the same name gives the same shard every time', () => {
    // Fixed values: a change of hash would move servers between the shards of running deployments.
    expect(['sense1', 'sense2', 'sense3', 'sense4'].map((name) => queueShardOf(name, 2))).toEqual([
      1, 2, 1, 2,
    ]);
    expect(names.map((name) => queueShardOf(name, 5))).toEqual(names.map((name) => queueShardOf(name, 5)));
  });

  it('puts every server in exactly one shard, spread over all of them', () => {
    for (const count of [1, 2, 3, 7]) {
      const shards = Array.from({ length: count }, (_, i) => ({ index: i + 1, count }));
      for (const name of names) expect(shards.filter((s) => inQueueShard(s, name))).toHaveLength(1);
      const sizes = shards.map((s) => names.filter((name) => inQueueShard(s, name)).length);
      for (const size of sizes) expect(size).toBeGreaterThan((names.length / count) * 0.8);
    }
  });

  it('with N=1 or unset is everything', () => {
    for (const name of names) {
      expect(inQueueShard({ index: 1, count: 1 }, name)).toBe(true);
      expect(inQueueShard(undefined, name)).toBe(true);
    }
  });
});

describe('the settings of a shard', () => {
  const all = settingsWith(names.slice(0, 20).map(server));

  it('hold only its servers, and remember the whole file', () => {
    const shards = [1, 2, 3].map((index) => settingsForQueueShard(all, { index, count: 3 }));
    const kept = shards.flatMap((s) => s.serversToMonitor.servers.map((x) => x.serverName));
    expect(kept.sort()).toEqual(all.serversToMonitor.servers.map((x) => x.serverName).sort());
    for (const [i, s] of shards.entries()) {
      expect(s.serversToMonitor.servers.every((x) => queueShardOf(x.serverName, 3) === i + 1)).toBe(true);
      expect(s.queueShard).toEqual({
        shard: { index: i + 1, count: 3 },
        allServers: all.serversToMonitor.servers,
      });
    }
  });

  it('are the file settings themselves when not sharded', () => {
    expect(settingsForQueueShard(all, undefined)).toBe(all);
    expect(settingsForQueueShard(all, { index: 1, count: 1 }).serversToMonitor.servers).toEqual(
      all.serversToMonitor.servers,
    );
  });
});
