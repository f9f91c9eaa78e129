import type { CertificateSettings } from '@qsm/config';
import type { CertificateSet } from '@qsm/dev-certs';
import { type Simulator, startSimulator, testCertificates } from '@qsm/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createQpsClient,
  createRepositoryClient,
  type RepositoryClient,
  type RepositoryClientOptions,
  RepositoryError,
  repositoryHostPort,
} from '../src/index.js';

let certs: CertificateSet;
let foreign: CertificateSet;
let sim: Simulator;
const clients: RepositoryClient[] = [];

const settingsOf = (set: CertificateSet): CertificateSettings => ({
  clientCert: set.client,
  clientCertKey: set.clientKey,
  clientCertCA: set.root,
  clientCertPassphrase: set.passphrase,
});

function client(overrides: Partial<RepositoryClientOptions> = {}): RepositoryClient {
  const c = createRepositoryClient({
    cert: settingsOf(certs),
    rejectUnauthorized: true,
    host: sim.repository ?? '',
    timeoutMs: 2000,
    maxResponseBytes: 1024 * 1024,
    ...overrides,
  });
  clients.push(c);
  return c;
}

/** The RepositoryError that `promise` rejects with; fails the test if it resolves or rejects with anything else. */
async function failure(promise: Promise<unknown>): Promise<RepositoryError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the read to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RepositoryError);
  return error as RepositoryError;
}

const url = (endpoint: string) => `https://${sim.repository}/qrs/${endpoint}/full`;

beforeAll(async () => {
  certs = await testCertificates('repository-client');
  foreign = await testCertificates('repository-client-foreign');
  sim = await startSimulator(certs, [
    '--servers',
    '2',
    '--prefixes',
    '/,/hdr',
    '--sessions',
    '3',
    '--churn',
    '0',
    '--repository',
    '--unlinked-prefixes',
    '/spare',
  ]);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim.setRepositoryFault(undefined);
});

afterAll(async () => {
  await sim?.stop();
});

describe('readTopology over mutual TLS', () => {
  it('reads the nodes, their virtual proxies and the unlinked ones', async () => {
    const topology = await client().readTopology();
    const state = await sim.repositoryState();
    const id = (prefix: string) => state.virtualProxies.find((vp) => vp.prefix === prefix)?.id;
    const linked = [
      {
        id: id('/'),
        prefix: '',
        description: 'Central Proxy (Default)',
        sessionInactivityTimeoutMinutes: 30,
      },
      {
        id: id('/hdr'),
        prefix: 'hdr',
        description: 'Virtual proxy /hdr',
        sessionInactivityTimeoutMinutes: 30,
      },
    ];
    expect(topology).toEqual({
      nodes: ['sense1', 'sense2'].map((name) => ({
        name,
        hostName: '127.0.0.1',
        restListenPort: Number(sim.qpsHost(name).split(':')[1]),
        virtualProxies: linked,
      })),
      unlinked: [
        {
          id: id('/spare'),
          prefix: 'spare',
          description: 'Virtual proxy /spare',
          sessionInactivityTimeoutMinutes: 30,
        },
      ],
    });
  });

  it('finds QPS where the repository says it is', async () => {
    const topology = await client().readTopology();
    const node = topology.nodes[1];
    const qps = createQpsClient({
      cert: settingsOf(certs),
      rejectUnauthorized: true,
      timeoutMs: 2000,
      maxResponseBytes: 1024 * 1024,
    });
    try {
      const list = await qps.fetchSessions(
        {
          serverName: node?.name ?? '',
          userSessions: {
            enable: true,
            host: `${node?.hostName}:${node?.restListenPort}`,
            virtualProxies: [],
          },
        },
        '/hdr',
      );
      expect(list.sessions).toEqual(await sim.sessions('sense2', '/hdr'));
    } finally {
      qps.close();
    }
  });

  it('sees virtual proxies added, relinked and renamed', async () => {
    const repository = client();
    await sim.addVirtualProxy('/finance', ['sense2'], {
      sessionInactivityTimeout: 60,
      description: 'Finance',
    });
    let topology = await repository.readTopology();
    expect(topology.nodes[0]?.virtualProxies.map((vp) => vp.prefix)).toEqual(['', 'hdr']);
    expect(topology.nodes[1]?.virtualProxies.at(-1)).toMatchObject({
      prefix: 'finance',
      description: 'Finance',
      sessionInactivityTimeoutMinutes: 60,
    });
    await sim.linkVirtualProxy('/finance', []);
    await sim.renameVirtualProxy('/finance', '/fin');
    topology = await repository.readTopology();
    expect(topology.nodes[1]?.virtualProxies.map((vp) => vp.prefix)).toEqual(['', 'hdr']);
    expect(topology.unlinked.map((vp) => vp.prefix)).toEqual(['spare', 'fin']);
    await sim.removeVirtualProxy('/fin');
  });

  it('sends a fresh Xrfkey with every request and the X-Qlik-User header', async () => {
    await client().readTopology();
    await client({ user: { directory: 'LAB', userId: 'svc_discovery' } }).readTopology();
    const state = await sim.repositoryState();
    const keys = state.xrfkeys.slice(-4);
    expect(new Set(keys).size).toBe(4);
    for (const key of keys) expect(key).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(state.users.slice(-4).sort()).toEqual([
      'UserDirectory=INTERNAL; UserId=sa_api',
      'UserDirectory=INTERNAL; UserId=sa_api',
      'UserDirectory=LAB; UserId=svc_discovery',
      'UserDirectory=LAB; UserId=svc_discovery',
    ]);
  });

  it('takes the default port 4242 when the host has none', () => {
    expect(repositoryHostPort('qrs.corp')).toBe('qrs.corp:4242');
    expect(repositoryHostPort('[fe80::1]')).toBe('[fe80::1]:4242');
    expect(repositoryHostPort('10.0.0.5:4747')).toBe('10.0.0.5:4747');
    expect(() => repositoryHostPort('https://qrs.corp:4242')).toThrow(/repository host: .*is a URL/);
  });
});

describe('readTopology failures', () => {
  it('classifies a refusal without X-Qlik-User as auth_error', async () => {
    const error = await failure(client({ user: null }).readTopology());
    expect(error).toMatchObject({ category: 'auth_error', httpStatus: 403, retryable: false });
    expect(error.message).toMatch(
      /^Qlik repository https:\/\/127\.0\.0\.1:\d+\/qrs\/\w+\/full: refused the request \(403\)/,
    );
    expect(error.message).toContain('X-Qlik-User');
  });

  it('classifies an HTML page, an object and truncated JSON as invalid_response, naming the endpoint', async () => {
    await sim.setRepositoryFault({ mode: 'html', endpoint: 'virtualproxyconfig' });
    const html = await failure(client().readTopology());
    expect(html).toMatchObject({
      category: 'invalid_response',
      url: url('virtualproxyconfig'),
      retryable: false,
    });
    expect(html.message).toMatch(
      /^Qlik repository https:\S+\/qrs\/virtualproxyconfig\/full: virtualproxyconfig\/full: got an HTML page/,
    );
    await sim.setRepositoryFault({ mode: 'object', endpoint: 'proxyservice' });
    const object = await failure(client().readTopology());
    expect(object).toMatchObject({ category: 'invalid_response', url: url('proxyservice') });
    expect(object.message).toContain('proxyservice/full: expected a JSON array, got an object');
    await sim.setRepositoryFault({ mode: 'truncated' });
    const truncated = await failure(client().readTopology());
    expect(truncated).toMatchObject({ category: 'invalid_response', retryable: true });
  });

  it('reads a body after a byte order mark', async () => {
    await sim.setRepositoryFault({ mode: 'bom' });
    expect((await client().readTopology()).nodes).toHaveLength(2);
  });

  it('classifies a 503 as http_5xx and a body beyond maxResponseBytes as invalid_response', async () => {
    await sim.setRepositoryFault({ mode: 'status', status: 503 });
    const status = await failure(client().readTopology());
    expect(status).toMatchObject({ category: 'http_5xx', httpStatus: 503, retryable: true });
    expect(status.message).toMatch(/failed with 503/);
    await sim.setRepositoryFault(undefined);
    const tooLarge = await failure(client({ maxResponseBytes: 200 }).readTopology());
    expect(tooLarge.category).toBe('invalid_response');
    expect(tooLarge.message).toMatch(/maxResponseBytes 200/);
  });

  it('classifies no answer within the deadline as a timeout', async () => {
    await sim.setRepositoryFault({ mode: 'slow', delayMs: 3000, endpoint: 'proxyservice' });
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 300 }).readTopology());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error).toMatchObject({ category: 'timeout', timeoutMs: 300, url: url('proxyservice') });
    expect(error.message).toBe(`Qlik repository ${url('proxyservice')}: no complete answer within 300 ms`);
  });

  it('classifies a repository that is down as connection_refused, and reads again once it is up', async () => {
    const repository = client();
    await sim.stopRepository();
    try {
      const error = await failure(repository.readTopology());
      expect(error).toMatchObject({ category: 'connection_refused', code: 'ECONNREFUSED', retryable: true });
      expect(error.message).toMatch(/Repository Service running/);
      expect(error.message).not.toMatch(/Xrfkey/);
    } finally {
      await sim.startRepository();
    }
    expect((await repository.readTopology()).nodes).toHaveLength(2);
  });

  it('classifies a connection closed before any answer', async () => {
    await sim.setRepositoryFault({ mode: 'reset' });
    const error = await failure(client().readTopology());
    expect(['certificate_error', 'connection_reset']).toContain(error.category);
  });

  it('classifies a client certificate from another CA as certificate_error', async () => {
    const error = await failure(
      client({ cert: { ...settingsOf(foreign), clientCertCA: certs.root } }).readTopology(),
    );
    expect(error.category).toBe('certificate_error');
    expect(error.message).toMatch(/^Qlik repository https:/);
  });

  it('stops when cancelled', async () => {
    await sim.setRepositoryFault({ mode: 'slow', delayMs: 3000 });
    const controller = new AbortController();
    const reading = client().readTopology({ signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await failure(reading)).category).toBe('aborted');
  });
});
