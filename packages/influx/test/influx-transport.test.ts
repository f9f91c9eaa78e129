import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import type { PollResult } from '@qsm/model';
import {
  influxV1TestSettings,
  type OwnService,
  startOwnInfluxd,
  stopAll,
  testCertificates,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSessionLines, createInfluxWriter, type InfluxConnectionOverrides } from '../src/index.js';

const T = Date.now() - 600_000;

const result: PollResult = {
  v: 1,
  kind: 'sessions',
  serverName: 'sense1',
  serverDescription: 'Central node',
  hostName: 'sense1.lab',
  serverTags: {},
  qpsHost: 'sense1.lab:4243',
  virtualProxy: '/',
  polledAt: T,
  durationMs: 5,
  sessions: [{ UserDirectory: 'LAB', UserId: 'tls', SessionId: 'tls-1', Attributes: [] }],
};

function writerFor(
  dbName: string,
  overrides: InfluxConnectionOverrides,
  auth = { username: '', password: '' },
) {
  const settings = influxV1TestSettings(dbName);
  return createInfluxWriter(
    { ...settings, v1Config: { ...settings.v1Config, auth: { enable: auth.username !== '', ...auth } } },
    { timeoutMs: 5000, ...overrides },
  );
}

/** An InfluxQL query over HTTPS trusting `ca`, as the admin. */
function adminQuery(
  url: string,
  ca: string,
  q: string,
  auth?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams({ q }).toString();
    const req = request(
      `${url}/query`,
      {
        method: 'POST',
        ca: readFileSync(ca),
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          ...(auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the InfluxDB 1.x writer over HTTPS with basic auth, against a real InfluxDB', () => {
  let influx: OwnService;
  let ca: string;
  const admin = { username: 'qsm_admin', password: 'pa ss:w"rd' };

  beforeAll(async () => {
    const certs = await testCertificates('influx-tls');
    ca = certs.root;
    influx = await startOwnInfluxd({ tls: { certFile: certs.server, keyFile: certs.serverKey }, auth: true });
    const created = await adminQuery(
      influx.url,
      ca,
      `CREATE USER ${admin.username} WITH PASSWORD '${admin.password.replace(/'/g, "\\'")}' WITH ALL PRIVILEGES`,
    );
    expect(created.status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await stopAll();
  });

  it('writes through TLS trusting INFLUX_CA_FILE, with the credentials of the config', async () => {
    const writer = writerFor('tls_ok', { url: influx.url, caFile: ca }, admin);
    expect(await writer.ensureTarget()).toContain('created database tls_ok');
    await writer.write(buildSessionLines(result, { version: 1, excludeUser: [] }));
    expect(await writer.ping()).toBe(true);
    const read = await adminQuery(
      influx.url,
      ca,
      'SELECT session_id FROM tls_ok.short.user_session_details',
      `${admin.username}:${admin.password}`,
    );
    expect(read.body).toContain('tls-1');
  });

  it('refuses a server whose certificate it cannot verify, and says why', async () => {
    const writer = writerFor('tls_untrusted', { url: influx.url }, admin);
    const failure = await writer.write(['m v=1i 1']).catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'unavailable' });
    expect(String((failure as Error).message)).toMatch(/certificate|SELF_SIGNED|UNABLE_TO_VERIFY/i);
  });

  it('writes without verifying when INFLUX_REJECT_UNAUTHORIZED is false', async () => {
    const writer = writerFor('tls_unverified', { url: influx.url, rejectUnauthorized: false }, admin);
    await writer.ensureTarget();
    await writer.write(buildSessionLines(result, { version: 1, excludeUser: [] }));
  });

  it('reports wrong credentials as InfluxDB answers them', async () => {
    const writer = writerFor('tls_ok', { url: influx.url, caFile: ca }, { ...admin, password: 'wrong' });
    const failure = await writer.write(['m v=1i 1']).catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'unavailable' });
    expect(String((failure as Error).message)).toMatch(/HTTP 401.*authorization failed/);
  });
});

describe('the InfluxDB transport', () => {
  let silent: Server;
  let port: number;

  beforeAll(async () => {
    // Accepts connections and never answers: an InfluxDB that hangs.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as { port: number }).port;
  });

  afterAll(() => {
    silent.close();
  });

  it('gives up on a server that does not answer within the timeout', async () => {
    const writer = writerFor('hang', { url: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    const started = Date.now();
    const failure = await writer.write(['m v=1i 1']).catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'unavailable' });
    expect(String((failure as Error).message)).toContain('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await writer.ping()).toBe(false);
  });

  it('reports a refused connection with its code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = await writerFor('refused', { url: `http://127.0.0.1:${free}` })
      .write(['m v=1i 1'])
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'unavailable' });
    expect(String((failure as Error).message)).toContain('ECONNREFUSED');
  });
});
