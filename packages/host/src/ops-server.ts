import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { type MetricsTexts, metricsExposition } from './metrics-registry.js';

export interface Readiness {
  ready: boolean;
  /** What each dependency looks like (`{ redis: 'up', influxdb: 'down: ECONNREFUSED' }`). */
  checks: Record<string, string>;
}

export interface OpsServerSettings {
  host: string;
  port: number;
  registry: Registry;
  /** Served after the registry's metrics. */
  texts: MetricsTexts;
  readiness(): Promise<Readiness> | Readiness;
}

export interface OpsServer {
  server: Server;
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * The operations endpoint every long-running app serves:
 *   GET /healthz  200 while the process runs (liveness)
 *   GET /readyz   200 when its dependencies are reachable, 503 otherwise, with a JSON reason
 *   GET /metrics  Prometheus text format: the registry's metrics, then the texts'
 */
export async function startOpsServer(settings: OpsServerSettings): Promise<OpsServer> {
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return reply(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return reply(200, 'application/json', '{"status":"ok"}\n');
    if (path === '/readyz') {
      Promise.resolve(settings.readiness())
        .then((r) =>
          reply(
            r.ready ? 200 : 503,
            'application/json',
            `${JSON.stringify({ status: r.ready ? 'ready' : 'not ready', ...r.checks })}\n`,
          ),
        )
        .catch((error: Error) =>
          reply(
            503,
            'application/json',
            `${JSON.stringify({ status: 'not ready', error: error.message })}\n`,
          ),
        );
      return;
    }
    if (path === '/metrics') {
      metricsExposition(settings.registry, settings.texts)
        .then((text) => reply(200, settings.registry.contentType, text))
        .catch((error: Error) => reply(500, 'text/plain', `${error.message}\n`));
      return;
    }
    reply(404, 'text/plain', 'not found: try /healthz, /readyz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
