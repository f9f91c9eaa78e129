import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createInfluxWriter, InfluxWriteError } from '../src/index.js';

/** An InfluxDB 2.x stand-in: answers as `answer` says, and counts the TCP connections it accepted. */
let server: Server;
let url: string;
let connections = 0;
const writes: string[] = [];

const defaultAnswer = (req: IncomingMessage, res: ServerResponse) => {
  if (req.url?.startsWith('/api/v2/buckets')) {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"buckets":[{"name":"b"}]}');
    return;
  }
  if (req.url?.startsWith('/api/v2/write')) {
    res.writeHead(204).end();
    return;
  }
  if (req.url === '/health') {
    res.writeHead(200).end('{"status":"pass"}');
    return;
  }
  res.writeHead(404).end();
};
let answer = defaultAnswer;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      if (req.url?.startsWith('/api/v2/write')) writes.push(body);
      answer(req, res);
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

afterEach(() => {
  vi.restoreAllMocks();
  answer = defaultAnswer;
  writes.length = 0;
  connections = 0;
});

function writerFor(version: 2 | 3, target = url) {
  const common = { description: 'd', token: 'secret', retentionDuration: '1d' };
  return createInfluxWriter(
    version === 2
      ? {
          enable: true,
          host: '127.0.0.1',
          port: 8086,
          maxBatchSize: 1000,
          version: 2,
          v2Config: { ...common, org: 'o', bucket: 'b' },
        }
      : {
          enable: true,
          host: '127.0.0.1',
          port: 8086,
          maxBatchSize: 1000,
          version: 3,
          v3Config: { ...common, database: 'b', writeTimeout: 2000, queryTimeout: 2000 },
        },
    { url: target, timeoutMs: 2000 },
  );
}

describe('the InfluxDB 2.x/3.x writer (official client for writes, axios for the rest)', () => {
  it('shares one kept-alive connection between its own requests and the client writes', async () => {
    const writer = writerFor(2);
    expect(await writer.ensureTarget()).toBeUndefined();
    await writer.write(['m v=1i 1', 'm v=2i 2']);
    await writer.write(['m v=3i 3']);
    expect(await writer.ping()).toBe(true);
    expect(writes).toEqual(['m v=1i 1\nm v=2i 2', 'm v=3i 3']);
    expect(connections).toBe(1);
  });

  it('turns a refused write into InfluxWriteError, and the client logs nothing of it', async () => {
    const error = vi.spyOn(console, 'error');
    const warn = vi.spyOn(console, 'warn');
    answer = (_req, res) => {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end('{"code":"invalid","message":"partial write: field type conflict dropped=1"}');
    };
    for (const version of [2, 3] as const) {
      const failure = await writerFor(version)
        .write(['m v=1i 1'])
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(InfluxWriteError);
      expect(failure).toMatchObject({
        kind: 'rejected',
        details: { status: 400, partial: true, dropped: 1 },
      });
    }
    expect(error).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('reports an unreachable InfluxDB as unavailable, and the client logs nothing of it', async () => {
    const error = vi.spyOn(console, 'error');
    const warn = vi.spyOn(console, 'warn');
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const writer = writerFor(2, `http://127.0.0.1:${free}`);
    const failure = await writer.write(['m v=1i 1']).catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'unavailable' });
    expect(String((failure as Error).message)).toContain('ECONNREFUSED');
    expect(await writer.ping()).toBe(false);
    expect(error).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });
});
