import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { brotliCompressSync } from 'node:zlib';
import type { CertificateSet } from '@qsm/dev-certs';
import { testCertificates } from '@qsm/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createQpsClient, type QpsClient, type QpsClientOptions } from '../src/index.js';
import { failure } from './expect-qps-error.js';

/**
 * What the QPS client does with axios underneath that the simulator's faults do not show: a local
 * HTTPS server (mutual TLS, the simulator's certificates) whose answer each test chooses.
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let certs: CertificateSet;
let server: Server;
let handler: Handler;
const requests: IncomingMessage[] = [];
const clients: QpsClient[] = [];

const SESSIONS = JSON.stringify([
  { UserDirectory: 'LAB', UserId: 'anna', Attributes: [], SessionId: 'a'.repeat(36) },
]);

const host = () => `127.0.0.1:${(server.address() as AddressInfo).port}`;
const qpsServer = () => ({
  serverName: 'local',
  userSessions: { enable: true, host: host(), virtualProxies: ['/'] },
});

function client(overrides: Partial<QpsClientOptions> = {}): QpsClient {
  const c = createQpsClient({
    cert: {
      clientCert: certs.client,
      clientCertKey: certs.clientKey,
      clientCertCA: certs.root,
      clientCertPassphrase: certs.passphrase,
    },
    rejectUnauthorized: true,
    timeoutMs: 2000,
    maxResponseBytes: 64 * 1024,
    ...overrides,
  });
  clients.push(c);
  return c;
}

const sendSessions: Handler = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(SESSIONS);
};

beforeAll(async () => {
  certs = await testCertificates('qlik-http');
  server = createServer(
    {
      key: readFileSync(certs.serverKey),
      cert: readFileSync(certs.server),
      ca: readFileSync(certs.root),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      requests.push(req);
      handler(req, res);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  requests.splice(0);
  handler = sendSessions;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the QPS client on axios', () => {
  it('sends the Xrfkey in the header and the query, its own headers, and asks for no compression', async () => {
    handler = sendSessions;
    const list = await client({ userAgent: 'qsm-test' }).fetchSessions(qpsServer(), '/');
    expect(list.sessions).toHaveLength(1);
    const [req] = requests;
    const xrfkey = new URL(req!.url!, 'https://qps').searchParams.get('Xrfkey');
    expect(xrfkey).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(req!.headers['x-qlik-xrfkey']).toBe(xrfkey);
    expect(req!.headers).toMatchObject({
      accept: 'application/json',
      'cache-control': 'no-cache',
      'user-agent': 'qsm-test',
    });
    expect(req!.headers['accept-encoding']).toBeUndefined();
  });

  it('follows no redirect: one request, classified as redirect', async () => {
    handler = (req, res) => {
      res.writeHead(302, {
        Location: `https://${req.headers.host}/qps/session?again=1`,
        'Content-Length': 0,
      });
      res.end();
    };
    const error = await failure(client().fetchSessions(qpsServer(), '/'));
    expect(error).toMatchObject({ category: 'redirect', httpStatus: 302, retryable: false });
    expect(error.message).toContain(`to https://${host()}/qps/session?again=1`);
    expect(requests).toHaveLength(1);
  });

  it('refuses a brotli body that inflates past the size limit', async () => {
    const inflated = `[${Array(8000).fill(SESSIONS.slice(1, -1)).join(',')}]`;
    const compressed = brotliCompressSync(inflated);
    expect(compressed.length).toBeLessThan(64 * 1024);
    expect(inflated.length).toBeGreaterThan(64 * 1024);
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'br' });
      res.end(compressed);
    };
    const error = await failure(client().fetchSessions(qpsServer(), '/'));
    expect(error).toMatchObject({ category: 'invalid_response', retryable: false });
    expect(error.message).toMatch(/larger than the limit.*br-decoded/);
  });

  it('refuses a body over the size limit before it is decompressed', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(Buffer.alloc(100 * 1024, 1));
    };
    const error = await failure(client().fetchSessions(qpsServer(), '/'));
    expect(error).toMatchObject({ category: 'invalid_response', retryable: false });
    expect(error.message).toMatch(
      /larger than the limit \(QPS_MAX_RESPONSE_BYTES\): body larger than 65536 bytes$/,
    );
  });

  it('keeps the deadline while the body trickles in, headers long since received', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 10_000 });
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    };
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 300 }).fetchSessions(qpsServer(), '/'));
    expect(error).toMatchObject({ category: 'timeout', retryable: true });
    expect(error.message).toBe('no complete answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops at once when the caller aborts, during the body or before the request', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 10_000 });
      res.write('[');
    };
    const controller = new AbortController();
    const pending = client().fetchSessions(qpsServer(), '/', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    expect(await failure(pending)).toMatchObject({ category: 'aborted', code: 'ABORT_ERR' });
    expect(Date.now() - started).toBeLessThan(500);

    const before = requests.length;
    const aborted = await failure(client().fetchSessions(qpsServer(), '/', { signal: AbortSignal.abort() }));
    expect(aborted.category).toBe('aborted');
    expect(requests.length).toBe(before);
  });

  it('retries once on a kept-alive connection that the server closed, mid-body too', async () => {
    let served = 0;
    handler = (req, res) => {
      served++;
      if (served === 2) return void req.socket.destroy();
      if (served === 4) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': SESSIONS.length });
        res.write(SESSIONS.slice(0, 10));
        return void setTimeout(() => req.socket.destroy(), 20);
      }
      sendSessions(req, res);
    };
    const qps = client();
    await qps.fetchSessions(qpsServer(), '/');
    expect((await qps.fetchSessions(qpsServer(), '/')).sessions).toHaveLength(1);
    expect(served).toBe(3);
    expect((await qps.fetchSessions(qpsServer(), '/')).sessions).toHaveLength(1);
    expect(served).toBe(5);
  });

  it('reads a connection closed before any answer, on a new connection, as a refused client certificate', async () => {
    handler = (req) => req.socket.destroy();
    const error = await failure(client().fetchSessions(qpsServer(), '/'));
    expect(error).toMatchObject({ category: 'certificate_error', code: 'ECONNRESET', retryable: false });
  });

  it("keeps Node's code, address and port of a transport failure", async () => {
    const error = await failure(
      client().fetchSessions(
        { ...qpsServer(), userSessions: { ...qpsServer().userSessions, host: '127.0.0.1:1' } },
        '/',
      ),
    );
    expect(error).toMatchObject({
      category: 'connection_refused',
      code: 'ECONNREFUSED',
      syscall: 'connect',
      remoteAddress: '127.0.0.1',
      remotePort: 1,
    });
    expect(error.message).toBe('connection refused by 127.0.0.1:1: is QPS running and the port right?');
  });

  it('keeps the OpenSSL code of a server certificate that does not chain to root.pem', async () => {
    const foreign = await testCertificates('qlik-http-foreign');
    const error = await failure(
      client({
        cert: {
          clientCert: certs.client,
          clientCertKey: certs.clientKey,
          clientCertCA: foreign.root,
          clientCertPassphrase: certs.passphrase,
        },
      }).fetchSessions(qpsServer(), '/'),
    );
    expect(error).toMatchObject({ category: 'certificate_error', retryable: false });
    expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO/);
    expect(error.message).toMatch(/^TLS failed \(/);
  });
});

describe('environment proxies', () => {
  let proxy: TcpServer;
  let proxyConnections = 0;
  const saved = { ...process.env };

  beforeAll(async () => {
    proxy = createTcpServer((socket) => {
      proxyConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('never sends QPS requests through HTTPS_PROXY, whatever NO_PROXY says', async () => {
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) process.env[name] = url;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    const list = await client().fetchSessions(qpsServer(), '/');
    expect(list.sessions).toHaveLength(1);
    expect(proxyConnections).toBe(0);
    expect(requests).toHaveLength(1);
  });
});
