import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import { type Simulator, startSimulator, tempDir, testCertificates } from '@qsm/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getOverTls } from './tls-get.js';

let certs: CertificateSet;
let sim: Simulator;

const KEY = 'Ab3dEf6hIj9lMn0p';
const USER = 'UserDirectory=INTERNAL; UserId=sa_api';

function get(
  host: string,
  pathAndQuery: string,
  options: { headers?: Record<string, string>; clientCerts?: CertificateSet | null } = {},
) {
  return getOverTls(`https://${host}${pathAndQuery}`, certs, options);
}

const qrs = (
  endpoint: string,
  headers: Record<string, string> = { 'X-Qlik-Xrfkey': KEY, 'X-Qlik-User': USER },
) => get(sim.repository ?? '', `/qrs/${endpoint}/full?Xrfkey=${KEY}`, { headers });

async function qrsJson<T = Array<Record<string, unknown>>>(endpoint: string): Promise<T> {
  const answer = await qrs(endpoint);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body) as T;
}

interface ProxyService {
  id: string;
  serverNodeConfiguration: { id: string; name: string; hostName: string };
  settings: {
    listenPort: number;
    restListenPort: number;
    virtualProxies: Array<{
      id: string;
      prefix: string;
      description: string;
      sessionInactivityTimeout: number;
      defaultVirtualProxy: boolean;
      sessionCookieHeaderName: string;
    }>;
  };
}
interface VirtualProxyConfig {
  id: string;
  prefix: string;
  description: string;
  sessionInactivityTimeout: number;
}

const qps = (server: string, prefix: string) =>
  get(sim.qpsHost(server), `/qps${prefix === '/' ? '' : prefix}/session?Xrfkey=${KEY}`, {
    headers: { 'X-Qlik-Xrfkey': KEY },
  });

beforeAll(async () => {
  certs = await testCertificates('sim-repository');
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
  await sim.setRepositoryFault(undefined);
});

afterAll(async () => {
  await sim?.stop();
});

describe('the simulated repository', () => {
  it('reports every server as a proxy node with the port its QPS listens on', async () => {
    const services = await qrsJson<ProxyService[]>('proxyservice');
    expect(services).toHaveLength(2);
    for (const [i, service] of services.entries()) {
      const name = `sense${i + 1}`;
      const [host, port] = sim.qpsHost(name).split(':');
      expect(service.serverNodeConfiguration).toMatchObject({ name, hostName: host });
      expect(service.settings.restListenPort).toBe(Number(port));
      expect(service.settings.virtualProxies.map((vp) => vp.prefix)).toEqual(['', 'hdr']);
      expect(service.settings.virtualProxies[0]).toMatchObject({
        defaultVirtualProxy: true,
        sessionCookieHeaderName: 'X-Qlik-Session',
        sessionInactivityTimeout: 30,
      });
    }
    // One repository virtual proxy linked to both nodes: the same id on each.
    expect(services[0]?.settings.virtualProxies[1]?.id).toBe(services[1]?.settings.virtualProxies[1]?.id);
    expect(services[0]?.serverNodeConfiguration.id).not.toBe(services[1]?.serverNodeConfiguration.id);
  });

  it('lists every virtual proxy in virtualproxyconfig/full, unlinked ones included', async () => {
    const configs = await qrsJson<VirtualProxyConfig[]>('virtualproxyconfig');
    expect(configs.map((vp) => vp.prefix)).toEqual(['', 'hdr', 'spare']);
    const services = await qrsJson<ProxyService[]>('proxyservice');
    expect(configs[1]?.id).toBe(services[0]?.settings.virtualProxies[1]?.id);
  });

  it('keeps ids stable from one run to the next', async () => {
    const other = await startSimulator(certs, ['--servers', '1', '--prefixes', '/,/hdr', '--repository']);
    try {
      const state = await other.repositoryState();
      const mine = await sim.repositoryState();
      expect(state.virtualProxies.map((vp) => vp.id)).toEqual(
        mine.virtualProxies.filter((vp) => vp.prefix !== '/spare').map((vp) => vp.id),
      );
    } finally {
      await other.stop();
    }
  });

  it('refuses a request without a matching Xrfkey or without X-Qlik-User, and counts them', async () => {
    const before = await sim.repositoryState();
    expect((await qrs('proxyservice', { 'X-Qlik-User': USER })).status).toBe(403);
    expect(
      (await qrs('proxyservice', { 'X-Qlik-Xrfkey': 'Zb3dEf6hIj9lMn0p', 'X-Qlik-User': USER })).status,
    ).toBe(403);
    expect((await qrs('proxyservice', { 'X-Qlik-Xrfkey': KEY })).status).toBe(403);
    const after = await sim.repositoryState();
    expect(after.forbidden - before.forbidden).toBe(3);
    expect(after.requests - before.requests).toBe(3);
    expect(after.users.at(-1)).toBeNull();
    expect(after.users.at(-2)).toBe(USER);
    expect(after.xrfkeys.at(-1)).toBe(KEY);
  });

  it('fails the TLS handshake without a client certificate', async () => {
    await expect(
      get(sim.repository ?? '', `/qrs/proxyservice/full?Xrfkey=${KEY}`, { clientCerts: null }),
    ).rejects.toThrow();
  });

  it('adds a virtual proxy that the linked servers serve and the others do not', async () => {
    const { id } = await sim.addVirtualProxy('/finance', ['sense2'], {
      description: 'Finance SAML',
      sessionInactivityTimeout: 60,
      sessions: 4,
    });
    const services = await qrsJson<ProxyService[]>('proxyservice');
    expect(services[0]?.settings.virtualProxies.map((vp) => vp.prefix)).toEqual(['', 'hdr']);
    expect(services[1]?.settings.virtualProxies.at(-1)).toMatchObject({
      id,
      prefix: 'finance',
      description: 'Finance SAML',
      sessionInactivityTimeout: 60,
      defaultVirtualProxy: false,
    });
    const served = await qps('sense2', '/finance');
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body)).toHaveLength(4);
    expect((await qps('sense1', '/finance')).status).toBe(404);
    await expect(sim.addVirtualProxy('/finance', ['sense1'])).rejects.toThrow(/409/);
  });

  it('relinks a virtual proxy: unlinked, it stays in virtualproxyconfig/full and QPS stops serving it', async () => {
    await sim.linkVirtualProxy('/finance', ['sense1']);
    expect((await qps('sense1', '/finance')).status).toBe(200);
    expect((await qps('sense2', '/finance')).status).toBe(404);
    await sim.linkVirtualProxy('/finance', []);
    expect((await qps('sense1', '/finance')).status).toBe(404);
    const services = await qrsJson<ProxyService[]>('proxyservice');
    expect(services.flatMap((s) => s.settings.virtualProxies.map((vp) => vp.prefix))).not.toContain(
      'finance',
    );
    const configs = await qrsJson<VirtualProxyConfig[]>('virtualproxyconfig');
    expect(configs.map((vp) => vp.prefix)).toContain('finance');
  });

  it('renames a prefix: same id and sessions, QPS serves the new prefix and 404 on the old', async () => {
    const sessions = await sim.sessions('sense1', '/hdr');
    const id = (await sim.repositoryState()).virtualProxies.find((vp) => vp.prefix === '/hdr')?.id;
    await sim.renameVirtualProxy('/hdr', '/header');
    expect((await qps('sense1', '/hdr')).status).toBe(404);
    const renamed = await qps('sense1', '/header');
    expect(renamed.status).toBe(200);
    expect(JSON.parse(renamed.body)).toEqual(sessions);
    const configs = await qrsJson<VirtualProxyConfig[]>('virtualproxyconfig');
    expect(configs.find((vp) => vp.prefix === 'header')?.id).toBe(id);
    expect((await sim.proxyState('sense2', '/header')).sessions).toBe(3);
  });

  it('removes a virtual proxy from the repository and every server', async () => {
    await sim.removeVirtualProxy('/header');
    expect((await qps('sense1', '/header')).status).toBe(404);
    expect((await qps('sense2', '/header')).status).toBe(404);
    const configs = await qrsJson<VirtualProxyConfig[]>('virtualproxyconfig');
    expect(configs.map((vp) => vp.prefix)).not.toContain('header');
    await expect(sim.removeVirtualProxy('/header')).rejects.toThrow(/404/);
  });

  it('fails on request, on both endpoints or one', async () => {
    await sim.setRepositoryFault({ mode: 'status', status: 503 });
    expect((await qrs('proxyservice')).status).toBe(503);
    await sim.setRepositoryFault({ mode: 'html', endpoint: 'virtualproxyconfig' });
    expect((await qrs('proxyservice')).status).toBe(200);
    expect((await qrs('virtualproxyconfig')).body).toMatch(/^<!DOCTYPE html>/);
    await sim.setRepositoryFault({ mode: 'truncated' });
    const truncated = (await qrs('proxyservice')).body;
    expect(() => JSON.parse(truncated)).toThrow();
    await sim.setRepositoryFault({ mode: 'reset' });
    await expect(qrs('proxyservice')).rejects.toThrow();
  });

  it('refuses connections while stopped, and answers on the same port once started', async () => {
    await sim.stopRepository();
    expect((await sim.repositoryState()).listening).toBe(false);
    await expect(qrs('proxyservice')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await sim.startRepository();
    expect((await qrs('proxyservice')).status).toBe(200);
  });
});

describe('a repository from a config file', () => {
  it('reports node names and host names as configured', async () => {
    const dir = tempDir('sim-repository-config');
    const file = path.join(dir, 'sim.yaml');
    writeFileSync(
      file,
      [
        'servers:',
        '  - name: sense1',
        '    nodeName: Central',
        '    hostName: sense1.corp.example',
        '    virtualProxies:',
        '      - prefix: /',
        '      - prefix: /finance',
        '        description: Finance SAML',
        '        sessionInactivityTimeout: 60',
        'repository:',
        '  unlinkedVirtualProxies:',
        '    - prefix: /old',
        '      description: Nobody links me',
      ].join('\n'),
    );
    const configured = await startSimulator(certs, ['--config', file]);
    try {
      expect(configured.repository).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(configured.servers[0]).toMatchObject({ nodeName: 'Central', hostName: 'sense1.corp.example' });
      const state = await configured.repositoryState();
      expect(state.nodes[0]).toMatchObject({ nodeName: 'Central', hostName: 'sense1.corp.example' });
      expect(
        state.virtualProxies.map((vp) => [vp.qrsPrefix, vp.description, vp.sessionInactivityTimeout]),
      ).toEqual([
        ['', 'Central Proxy (Default)', 30],
        ['finance', 'Finance SAML', 60],
        ['old', 'Nobody links me', 30],
      ]);
      expect(state.virtualProxies[2]?.servers).toEqual([]);
    } finally {
      await configured.stop();
    }
  });

  it('has no repository unless asked for', async () => {
    const plain = await startSimulator(certs, ['--servers', '1']);
    try {
      expect(plain.repository).toBeUndefined();
      expect((await plain.repositoryState()).host).toBeNull();
      await expect(plain.stopRepository()).rejects.toThrow(/409/);
    } finally {
      await plain.stop();
    }
  });
});
