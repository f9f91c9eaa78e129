import { copyFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import type { CertificateSettings } from '@qsm/config';
import type { CertificateSet } from '@qsm/dev-certs';
import { type Simulator, startSimulator, tempDir, testCertificates } from '@qsm/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyTransportFailure } from '../src/classify-failure.js';
import { createQpsClient, type QpsClient, type QpsClientOptions } from '../src/index.js';
import { failure } from './expect-qps-error.js';

const PASSPHRASE = 'correct horse';
let certs: CertificateSet;
let foreign: CertificateSet;
let sim: Simulator;
const clients: QpsClient[] = [];

const settingsOf = (
  set: CertificateSet,
  passphrase: string | null = set.passphrase,
): CertificateSettings => ({
  clientCert: set.client,
  clientCertKey: set.clientKey,
  clientCertCA: set.root,
  clientCertPassphrase: passphrase,
});

function client(overrides: Partial<QpsClientOptions> = {}): QpsClient {
  const c = createQpsClient({
    cert: settingsOf(certs),
    rejectUnauthorized: true,
    timeoutMs: 2000,
    maxResponseBytes: 1024 * 1024,
    ...overrides,
  });
  clients.push(c);
  return c;
}

const server = (host = sim.qpsHost('sense1')) => ({
  serverName: 'sense1',
  userSessions: { enable: true, host, virtualProxies: ['/', '/hdr'] },
});

beforeAll(async () => {
  certs = await testCertificates('qps-client', PASSPHRASE);
  foreign = await testCertificates('foreign-ca');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/hdr',
    '--sessions',
    '5',
    '--churn',
    '0',
  ]);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim.setGlobalFault(undefined);
});

afterAll(async () => {
  await sim?.stop();
});

describe('fetchSessions over mutual TLS', () => {
  it('returns the sessions of the default virtual proxy and of /hdr', async () => {
    const qps = client();
    const root = await qps.fetchSessions(server(), '/');
    const hdr = await qps.fetchSessions(server(), '/hdr');
    expect(root.sessions).toEqual(await sim.sessions('sense1', '/'));
    expect(hdr.sessions).toEqual(await sim.sessions('sense1', '/hdr'));
    expect(root.url).toBe(`https://${sim.qpsHost('sense1')}/qps/session`);
    expect(hdr.url).toBe(`https://${sim.qpsHost('sense1')}/qps/hdr/session`);
    expect(root.sessions).toHaveLength(5);
  });

  it('sends a fresh random 16-character Xrfkey in the query and the header of every request', async () => {
    const qps = client();
    await qps.fetchSessions(server(), '/');
    await qps.fetchSessions(server(), '/');
    const { xrfkeys } = await sim.proxyState('sense1', '/');
    const [a, b] = xrfkeys.slice(-2);
    expect(a).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(b).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(a).not.toBe(b);
  });

  it('reuses one kept-alive connection per server across polls', async () => {
    const qps = client();
    const before = (await sim.state()).servers[0]!.connections;
    for (let i = 0; i < 10; i++) await qps.fetchSessions(server(), i % 2 ? '/' : '/hdr');
    const after = (await sim.state()).servers[0]!.connections;
    expect(after - before).toBe(1);
  });

  it('fails with certificate_error when no client certificate is sent', async () => {
    // Qlik's config always names a certificate, so this is the TLS failure QPS causes when none is sent.
    const error = await new Promise<unknown>((resolve) => {
      const req = request(
        `https://${sim.qpsHost('sense1')}/qps/session?Xrfkey=abcdefghij987654`,
        { headers: { 'X-Qlik-Xrfkey': 'abcdefghij987654' }, ca: readFileSync(certs.root) },
        () => resolve(undefined),
      );
      req.on('error', resolve);
      req.end();
    });
    expect(error).toBeInstanceOf(Error);
    const classified = classifyTransportFailure(error, 'https://qps/qps/session', {
      timeoutMs: 1000,
      timedOut: false,
      aborted: false,
    });
    expect(classified.category).toBe('certificate_error');
    expect(classified.retryable).toBe(false);
  });

  it('fails with certificate_error when the client certificate comes from another CA', async () => {
    const qps = client({ cert: { ...settingsOf(foreign), clientCertCA: certs.root } });
    const error = await failure(qps.fetchSessions(server(), '/'));
    expect(error.category).toBe('certificate_error');
    expect(error.message).toMatch(/client certificate/);
  });

  it('fails with certificate_error when the server certificate does not chain to root.pem', async () => {
    const qps = client({ cert: { ...settingsOf(certs), clientCertCA: foreign.root } });
    const error = await failure(qps.fetchSessions(server(), '/'));
    expect(error.category).toBe('certificate_error');
    expect(error.message).toMatch(/root\.pem|rejectUnauthorized/);
  });

  it('fails with certificate_error when the key passphrase is wrong', async () => {
    const qps = client({ cert: settingsOf(certs, 'wrong passphrase') });
    const error = await failure(qps.fetchSessions(server(), '/'));
    expect(error.category).toBe('certificate_error');
    expect(error.message).toMatch(/passphrase/);
    expect(error.retryable).toBe(false);
  });

  it('reads the certificate files again when they change on disk', async () => {
    const dir = tempDir('rotating-certs');
    const files = {
      clientCert: path.join(dir, 'client.pem'),
      clientCertKey: path.join(dir, 'client_key.pem'),
    };
    copyFileSync(foreign.client, files.clientCert);
    copyFileSync(foreign.clientKey, files.clientCertKey);
    const qps = client({
      cert: { ...files, clientCertCA: certs.root, clientCertPassphrase: PASSPHRASE },
      certificateCheckIntervalMs: 0,
    });
    expect((await failure(qps.fetchSessions(server(), '/'))).category).toBe('certificate_error');
    copyFileSync(certs.client, files.clientCert);
    copyFileSync(certs.clientKey, files.clientCertKey);
    const { sessions } = await qps.fetchSessions(server(), '/');
    expect(sessions).toHaveLength(5);
  });
});

describe('QPS answers that are not a session list', () => {
  it('classifies a wrong Xrfkey answer (403 with Qlik text) as auth_error, not retryable', async () => {
    const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `https://${sim.qpsHost('sense1')}/qps/session?Xrfkey=abcdefghij987654`,
        {
          headers: { 'X-Qlik-Xrfkey': 'ABCDEFGHIJ987654' },
          cert: readFileSync(certs.client),
          key: readFileSync(certs.clientKey),
          passphrase: PASSPHRASE,
          ca: readFileSync(certs.root),
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toEqual({ status: 403, text: 'XSRF prevention check failed. Possible XSRF discovered.' });

    await sim.setGlobalFault({ mode: 'status', status: 403 });
    const error = await failure(client().fetchSessions(server(), '/'));
    expect(error.category).toBe('auth_error');
    expect(error.httpStatus).toBe(403);
    expect(error.retryable).toBe(false);
  });

  it('classifies an unknown virtual proxy prefix as not_found', async () => {
    const error = await failure(client().fetchSessions(server(), '/nope'));
    expect(error.category).toBe('not_found');
    expect(error.message).toContain('/nope');
  });

  it('gives up with timeout when QPS answers too slowly, within the deadline', async () => {
    await sim.setGlobalFault({ mode: 'slow', delayMs: 5000 });
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 300 }).fetchSessions(server(), '/'));
    expect(error.category).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out on a body that trickles in, even though bytes keep arriving', async () => {
    await sim.setGlobalFault({ mode: 'trickle', delayMs: 20 });
    const error = await failure(client({ timeoutMs: 400 }).fetchSessions(server(), '/'));
    expect(error.category).toBe('timeout');
  });

  it('rejects an HTML login page as invalid_response and says what to check', async () => {
    await sim.setGlobalFault({ mode: 'html' });
    const error = await failure(client().fetchSessions(server(), '/'));
    expect(error.category).toBe('invalid_response');
    expect(error.message).toMatch(/HTML/);
    expect(error.retryable).toBe(false);
  });

  it('rejects truncated JSON and a JSON object as invalid_response', async () => {
    await sim.setGlobalFault({ mode: 'truncated' });
    const truncated = await failure(client().fetchSessions(server(), '/'));
    expect(truncated.category).toBe('invalid_response');
    expect(truncated.retryable).toBe(true);
    await sim.setGlobalFault({ mode: 'object' });
    const error = await failure(client().fetchSessions(server(), '/'));
    expect(error.category).toBe('invalid_response');
    expect(error.message).toMatch(/array/);
  });

  it('refuses a body over the size limit', async () => {
    await sim.setGlobalFault({ mode: 'oversize', bytes: 4 * 1024 * 1024 });
    const error = await failure(client({ maxResponseBytes: 256 * 1024 }).fetchSessions(server(), '/'));
    expect(error.category).toBe('invalid_response');
    expect(error.message).toMatch(/larger than the limit/);
  });

  it('reads a session list sent after a UTF-8 byte order mark', async () => {
    await sim.setGlobalFault({ mode: 'bom' });
    const list = await client().fetchSessions(server(), '/');
    expect(list.sessions).toHaveLength(5);
  });

  it('reads a gzip-compressed session list that it did not ask for', async () => {
    await sim.setGlobalFault({ mode: 'gzip' });
    const list = await client().fetchSessions(server(), '/');
    expect(list.sessions).toHaveLength(5);
    expect(list.sessions[0]).toMatchObject({
      UserDirectory: expect.any(String),
      SessionId: expect.any(String),
    });
  });

  it('refuses a compressed body that inflates past the size limit', async () => {
    await sim.setGlobalFault({ mode: 'gzip', bytes: 4 * 1024 * 1024 });
    const error = await failure(client({ maxResponseBytes: 256 * 1024 }).fetchSessions(server(), '/'));
    expect(error.category).toBe('invalid_response');
    expect(error.message).toMatch(/larger than the limit.*gzip-decoded/);
    expect(error.retryable).toBe(false);
  });

  it('refuses to follow a redirect and points at the port', async () => {
    await sim.setGlobalFault({ mode: 'redirect' });
    const error = await failure(client().fetchSessions(server(), '/'));
    expect(error.category).toBe('redirect');
    expect(error.message).toMatch(/port/);
    expect(error.message).toMatch(/4243/);
    expect(error.retryable).toBe(false);
  });

  it('classifies 5xx as retryable http_5xx', async () => {
    await sim.setGlobalFault({ mode: 'status', status: 503 });
    const error = await failure(client().fetchSessions(server(), '/'));
    expect(error).toMatchObject({ category: 'http_5xx', httpStatus: 503, retryable: true });
  });

  it('classifies a refused connection and an unknown host', async () => {
    const refused = await failure(client().fetchSessions(server('127.0.0.1:1'), '/'));
    expect(refused.category).toBe('connection_refused');
    const unknown = await failure(client().fetchSessions(server('no-such-host.invalid:4243'), '/'));
    expect(unknown.category).toBe('host_not_found');
  });

  it("fails a host still holding a placeholder of Butler SOS's template as host_not_found, for good", async () => {
    const error = await failure(client().fetchSessions(server('<server1.my.domain>:4243'), '/hdr'));
    expect(error).toMatchObject({
      category: 'host_not_found',
      retryable: false,
      url: 'https://<server1.my.domain>:4243/qps/hdr/session',
    });
    expect(error.message).toMatch(/placeholder of Butler SOS's template, not a host name: fill it in/);
  });

  it('stops when the caller aborts', async () => {
    await sim.setGlobalFault({ mode: 'slow', delayMs: 5000 });
    const controller = new AbortController();
    const pending = client().fetchSessions(server(), '/', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await failure(pending)).category).toBe('aborted');
  });
});
