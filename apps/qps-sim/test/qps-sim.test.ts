import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { CertificateSet } from '@qsm/dev-certs';
import { type Simulator, startSimulator, testCertificates } from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOverTls } from './tls-get.js';

let certs: CertificateSet;
let foreign: CertificateSet;
let sim: Simulator;

function get(
  path: string,
  options: { headers?: Record<string, string>; clientCerts?: CertificateSet | null } = {},
) {
  return getOverTls(`https://${sim.qpsHost('sense1')}${path}`, certs, options);
}

const KEY = 'Ab3dEf6hIj9lMn0p';
const withKey = (path: string) => get(`${path}?Xrfkey=${KEY}`, { headers: { 'X-Qlik-Xrfkey': KEY } });

beforeAll(async () => {
  certs = await testCertificates('sim');
  foreign = await testCertificates('sim-foreign');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/hdr',
    '--sessions',
    '4',
    '--churn',
    '0',
  ]);
});

afterAll(async () => {
  await sim?.stop();
});

describe('the QPS simulator', () => {
  it('lists sessions for the default virtual proxy and for a prefix', async () => {
    const root = await withKey('/qps/session');
    const hdr = await withKey('/qps/hdr/session');
    expect(root.status).toBe(200);
    expect(JSON.parse(root.body)).toHaveLength(4);
    expect(JSON.parse(hdr.body)).toEqual(await sim.sessions('sense1', '/hdr'));
  });

  it('answers 404 for a prefix it does not serve', async () => {
    expect((await withKey('/qps/sales/session')).status).toBe(404);
  });

  it("answers 403 with Qlik's text when the Xrfkey is missing or differs", async () => {
    const text = 'XSRF prevention check failed. Possible XSRF discovered.';
    expect(await get('/qps/session')).toEqual({ status: 403, body: text });
    expect(await get(`/qps/session?Xrfkey=${KEY}`)).toEqual({ status: 403, body: text });
    expect(
      await get(`/qps/session?Xrfkey=${KEY}`, { headers: { 'X-Qlik-Xrfkey': 'Zb3dEf6hIj9lMn0p' } }),
    ).toEqual({
      status: 403,
      body: text,
    });
  });

  it('fails the TLS handshake without a client certificate, or with one from another CA', async () => {
    await expect(get('/qps/session', { clientCerts: null })).rejects.toThrow();
    await expect(get('/qps/session', { clientCerts: foreign })).rejects.toThrow();
  });

  it('serves a session list set at run time, hostile identities included', async () => {
    const sessions = [
      { UserDirectory: 'dir,with=odd "chars"', UserId: 'new\nline\\', SessionId: 'a', Attributes: [] },
      { UserDirectory: '', UserId: '😀', SessionId: 'b', Attributes: [{ Group: 'x' }] },
    ];
    await sim.setSessions('sense1', '/hdr', sessions);
    expect(JSON.parse((await withKey('/qps/hdr/session')).body)).toEqual(sessions);
  });

  it('reproduces the same population from the same seed in another process', async () => {
    const other = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      '/,/hdr',
      '--sessions',
      '4',
      '--churn',
      '0',
    ]);
    try {
      expect(await other.sessions('sense1', '/')).toEqual(await sim.sessions('sense1', '/'));
    } finally {
      await other.stop();
    }
  });

  it('injects faults on request: 5xx, HTML and truncated JSON', async () => {
    await sim.setFault('sense1', '/', { mode: 'status', status: 503 });
    expect((await withKey('/qps/session')).status).toBe(503);
    await sim.setFault('sense1', '/', { mode: 'html' });
    expect((await withKey('/qps/session')).body).toMatch(/^<!DOCTYPE html>/);
    await sim.setFault('sense1', '/', { mode: 'truncated' });
    const truncated = await withKey('/qps/session');
    expect(() => JSON.parse(truncated.body)).toThrow();
    await sim.setFault('sense1', '/', undefined);
    expect((await withKey('/qps/session')).status).toBe(200);
  });

  it('counts an oversize answer the client stopped reading', async () => {
    await sim.setFault('sense1', '/hdr', { mode: 'oversize', bytes: 32 * 1024 * 1024 });
    const proxyState = async () => (await sim.state()).servers[0]?.proxies.find((p) => p.prefix === '/hdr');
    const before = (await proxyState())?.abandoned ?? 0;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `https://${sim.qpsHost('sense1')}/qps/hdr/session?Xrfkey=${KEY}`,
        {
          headers: { 'X-Qlik-Xrfkey': KEY },
          ca: readFileSync(certs.root),
          cert: readFileSync(certs.client),
          key: readFileSync(certs.clientKey),
          agent: false,
        },
        (res) => {
          // As a client with a size cap does: the first bytes, then the connection goes.
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        if (!req.destroyed) reject(error);
      });
      req.end();
    });
    await sim.setFault('sense1', '/hdr', undefined);
    const deadline = Date.now() + 3000;
    while (((await proxyState())?.abandoned ?? 0) === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await proxyState())?.abandoned).toBe(before + 1);
  });
});
