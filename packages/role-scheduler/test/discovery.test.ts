import path from 'node:path';
import { type Settings, validateConfig } from '@qsm/config';
import type { RepositoryFailure, RepositoryTopology, StoredTopology } from '@qsm/model';
import { type QpsErrorCategory, RepositoryError } from '@qsm/qps';
import { PermanentJobError } from '@qsm/queues';
import { createDiscoveryStore } from '@qsm/redis';
import { butlerConfig, type CapturedLogs, captureLogs, testCertificates, useTestRedis } from '@qsm/testkit';
import { Registry } from 'prom-client';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDiscoveryHandler } from '../src/discovery-handler.js';
import { discoveryMetrics } from '../src/discovery-metrics.js';
import { createDiscoveredTargetSource } from '../src/poll-targets.js';

const redis = useTestRedis('discovery');
let settings: Settings;
let logs: CapturedLogs;

const topology: RepositoryTopology = {
  nodes: [
    {
      name: 'central',
      hostName: 'sense1.corp.example',
      restListenPort: 4243,
      virtualProxies: [
        { id: 'vp-default', prefix: '', description: 'Central Proxy (Default)' },
        { id: 'vp-finance', prefix: 'finance', description: 'Finance', sessionInactivityTimeoutMinutes: 60 },
      ],
    },
  ],
  unlinked: [{ id: 'vp-lab', prefix: 'lab', description: 'Lab' }],
};

/** A read that failed as the repository client reports it. */
function readError(category: QpsErrorCategory, message: string): RepositoryError {
  return new RepositoryError(category, message, {
    url: 'https://qrs.corp.example:4242/qrs/proxyservice/full',
    httpStatus: 403,
  });
}

beforeAll(async () => {
  const certs = await testCertificates('discovery');
  const config = butlerConfig({
    certs,
    servers: [{ serverName: 'sense1', qpsHost: 'localhost:4243', virtualProxies: ['/'] }],
  });
  settings = validateConfig(config, path.join(certs.dir, 'config.yaml')).settings;
});

beforeEach(() => {
  logs = captureLogs('scheduler');
});

function handlerWith(prefix: string, read: () => Promise<RepositoryTopology>) {
  const store = createDiscoveryStore(redis.connection(), prefix);
  const reconciles: string[] = [];
  const failures: RepositoryFailure[] = [];
  const registry = new Registry();
  const metrics = discoveryMetrics(registry);
  const handle = createDiscoveryHandler({
    repository: 'qrs.corp.example:4242',
    readTopology: read,
    store,
    reconcile: async (reason) => void reconciles.push(reason),
    recordFailure: async (failure) => void failures.push(failure),
    metrics,
    logger: logs.logger,
    now: () => 1_700_000_000_000,
  });
  return { handle, store, reconciles, failures, registry };
}

describe('one read of the repository', () => {
  it('keeps a good read in Redis, then reconciles with it', async () => {
    const { handle, store, reconciles, registry } = handlerWith(`${redis.prefix}:good`, async () => topology);
    expect(await handle()).toEqual({ nodes: 1, links: 2, unlinked: 1 });
    const stored = JSON.parse((await store.loadTopology())!) as StoredTopology;
    expect(stored).toEqual({
      v: 1,
      readAt: 1_700_000_000_000,
      repository: 'qrs.corp.example:4242',
      topology,
    });
    expect(reconciles).toEqual(['discovery']);
    expect(await registry.getSingleMetricAsString('qsm_discovery_reads_total')).toContain(
      'qsm_discovery_reads_total{outcome="ok",category=""} 1',
    );
  });

  it('keeps the last good read when a read fails, records the failure and fails the job for good', async () => {
    let fail = false;
    const { handle, store, reconciles, failures, registry } = handlerWith(`${redis.prefix}:bad`, async () => {
      if (fail) throw readError('http_4xx', 'the repository answered 403: is X-Qlik-User allowed?');
      return topology;
    });
    await handle();
    const before = await store.loadTopology();
    fail = true;
    const failed = await handle().catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(PermanentJobError);
    expect((failed as PermanentJobError).category).toBe('http_4xx');
    expect(await store.loadTopology()).toBe(before);
    expect(reconciles).toEqual(['discovery']);
    expect(failures).toEqual([
      {
        v: 1,
        kind: 'repository_error',
        repository: 'qrs.corp.example:4242',
        failedAt: 1_700_000_000_000,
        category: 'http_4xx',
        message:
          'Qlik repository https://qrs.corp.example:4242/qrs/proxyservice/full: the repository answered 403: is X-Qlik-User allowed?',
        url: 'https://qrs.corp.example:4242/qrs/proxyservice/full',
        httpStatus: 403,
      },
    ]);
    expect(logs.messages('warn')).toEqual([
      'reading the Qlik repository failed; the virtual proxies found before are still polled: Qlik repository https://qrs.corp.example:4242/qrs/proxyservice/full: the repository answered 403: is X-Qlik-User allowed?',
    ]);
    expect(await registry.getSingleMetricAsString('qsm_discovery_reads_total')).toContain(
      'qsm_discovery_reads_total{outcome="failed",category="http_4xx"} 1',
    );
  });

  it('takes a list without any proxy node for a failed read: no real site has none', async () => {
    const { handle, store, failures } = handlerWith(`${redis.prefix}:empty`, async () => ({
      nodes: [],
      unlinked: topology.unlinked,
    }));
    const failed = await handle().catch((error: unknown) => error);
    expect((failed as PermanentJobError).category).toBe('invalid_response');
    expect((failed as Error).message).toContain('lists no proxy node');
    expect(await store.loadTopology()).toBeNull();
    expect(failures).toHaveLength(1);
  });

  it('lets an error that is no failed read through (a bug must not look like a down repository)', async () => {
    const { handle, failures } = handlerWith(`${redis.prefix}:bug`, async () => {
      throw new TypeError('cannot read properties of undefined');
    });
    await expect(handle()).rejects.toThrow(TypeError);
    expect(failures).toEqual([]);
  });
});

describe('the targets a reconcile polls', () => {
  const discovered = {
    serverName: 'central',
    serverDescription: '',
    hostName: 'sense1.corp.example',
    serverTags: {},
    qpsHost: 'sense1.corp.example:4243',
    virtualProxy: '/finance',
    node: 'central',
    sessionInactivityTimeoutMinutes: 60,
  };

  function sourceWith(prefix: string) {
    const store = createDiscoveryStore(redis.connection(), prefix);
    const resolved: RepositoryTopology[] = [];
    const source = createDiscoveredTargetSource({
      store,
      resolve: (_settings, read) => {
        resolved.push(read);
        return {
          targets: [discovered],
          notes: ['virtual proxy "lab" is linked to no proxy node: not polled'],
        };
      },
      metrics: discoveryMetrics(new Registry()),
      logger: logs.logger,
    });
    return { store, source, resolved };
  }

  it('are the configured ones until the repository was read', async () => {
    const { source, resolved } = sourceWith(`${redis.prefix}:none`);
    expect(await source(settings)).toEqual([{ serverName: 'sense1', virtualProxy: '/' }]);
    expect(resolved).toEqual([]);
  });

  it('add those of the last good read, kept for the session gauge, and say once what was left out', async () => {
    const { store, source, resolved } = sourceWith(`${redis.prefix}:some`);
    const stored: StoredTopology = { v: 1, readAt: 1, repository: 'qrs:4242', topology };
    await store.saveTopology(JSON.stringify(stored));
    const { serverName, virtualProxy, sessionInactivityTimeoutMinutes, ...identity } = discovered;
    const expected = [
      { serverName: 'sense1', virtualProxy: '/' },
      { serverName, virtualProxy, discovered: { ...identity, sessionInactivityTimeoutMinutes } },
    ];
    expect(await source(settings)).toEqual(expected);
    expect(await source(settings)).toEqual(expected);
    expect(resolved).toEqual([topology, topology]);
    expect(JSON.parse((await store.loadTargets())!)).toEqual([discovered]);
    expect(logs.messages('info')).toEqual([
      'discovery: virtual proxy "lab" is linked to no proxy node: not polled',
    ]);
  });

  it('are the configured ones, with a warning, when the read kept in Redis is not understood', async () => {
    const { store, source } = sourceWith(`${redis.prefix}:corrupt`);
    await store.saveTopology('{"v":1,"nodes":');
    expect(await source(settings)).toEqual([{ serverName: 'sense1', virtualProxy: '/' }]);
    expect(logs.messages('warn')).toHaveLength(1);
  });
});
