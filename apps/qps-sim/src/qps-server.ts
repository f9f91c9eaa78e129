import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { gzipSync } from 'node:zlib';
import type { ProxyPopulation } from './population.js';
import { checkXrfkey, createQlikHttpsServer, type TlsFiles, XSRF_TEXT } from './qlik-https.js';
import type { Fault } from './sim-config.js';

const TIMESTAMPS_KEPT = 10_000;

export interface ProxyStats {
  requests: number;
  active: number;
  maxActive: number;
  /** Request start times (ms since epoch), the most recent ones. */
  times: number[];
  /** The Xrfkeys of the most recent requests. */
  xrfkeys: string[];
  /** Answers the client stopped reading before their end (an oversize answer beyond its size cap). */
  abandoned: number;
}

export interface SimulatedProxy {
  population: ProxyPopulation;
  /** Add `Served: <request number>` to every session of an answer, so that tests can order snapshots. */
  stamp?: boolean;
  latencyMs: number;
  fault: Fault | undefined;
  stats: ProxyStats;
}

export interface SimulatedServer {
  name: string;
  proxies: Map<string, SimulatedProxy>;
  /** Applies to every proxy of every server when set (control API). */
  globalFault: () => Fault | undefined;
  forbidden: { count: number };
  unknownPrefix: { count: number };
  /** TLS connections accepted (keep-alive clients open few). */
  connections: { count: number };
}

/**
 * An HTTPS server that answers like Qlik Sense's QPS on port 4243: client certificate required and
 * checked against the CA, Xrfkey query parameter and header must match, `/qps[/<prefix>]/session`.
 */
export function createQpsServer(tls: TlsFiles, server: SimulatedServer): Server {
  return createQlikHttpsServer(
    tls,
    (req, res) => handle(server, req, res),
    () => {
      server.connections.count++;
    },
  );
}

function handle(server: SimulatedServer, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'https://qps');
  const match = /^\/qps(?:\/([^/]+))?\/session\/?$/.exec(url.pathname);
  if (req.method !== 'GET' || !match) {
    server.unknownPrefix.count++;
    return send(res, 404, 'text/plain', 'Not Found');
  }
  const prefix = match[1] === undefined ? '/' : `/${safeDecode(match[1])}`;
  const { key, valid } = checkXrfkey(url, req);
  if (!valid || !key) {
    server.forbidden.count++;
    return send(res, 403, 'text/plain', XSRF_TEXT);
  }
  const proxy = server.proxies.get(prefix);
  if (!proxy) {
    server.unknownPrefix.count++;
    return send(res, 404, 'text/plain', 'Not Found');
  }
  const stats = proxy.stats;
  stats.requests++;
  stats.active++;
  stats.maxActive = Math.max(stats.maxActive, stats.active);
  stats.times.push(Date.now());
  if (stats.times.length > TIMESTAMPS_KEPT) stats.times.splice(0, stats.times.length - TIMESTAMPS_KEPT);
  stats.xrfkeys.push(key);
  if (stats.xrfkeys.length > 20) stats.xrfkeys.shift();
  let done = false;
  const finish = () => {
    if (!done) {
      done = true;
      stats.active--;
    }
  };
  res.on('close', finish);

  const fault = server.globalFault() ?? proxy.fault;
  const active = fault && fault.mode !== 'ok' && Math.random() < fault.rate ? fault : undefined;
  const answer = () => respond(proxy, active, req, res);
  if (proxy.latencyMs > 0) setTimeout(answer, proxy.latencyMs);
  else answer();
}

function respond(proxy: SimulatedProxy, fault: Fault | undefined, req: IncomingMessage, res: ServerResponse) {
  if (res.destroyed) return;
  const json = 'application/json; charset=utf-8';
  switch (fault?.mode) {
    case undefined:
    case 'ok':
      return send(res, 200, json, proxy.stamp ? stamped(proxy) : proxy.population.body());
    case 'status':
      return send(res, fault.status, 'text/plain', `Simulated failure ${fault.status}`);
    case 'html':
      return send(res, 200, 'text/html', LOGIN_PAGE);
    case 'object':
      return send(res, 200, json, JSON.stringify({ error: 'not a session list', sessions: 3 }));
    case 'truncated': {
      const body = proxy.population.body();
      return send(res, 200, json, body.slice(0, Math.max(1, Math.floor(body.length / 2))));
    }
    case 'slow':
      return void setTimeout(() => send(res, 200, json, proxy.population.body()), fault.delayMs);
    case 'trickle':
      return trickle(res, proxy.population.body(), fault.delayMs);
    case 'redirect':
      res.writeHead(302, {
        Location: `https://${req.headers.host ?? 'qlik'}/hub/login`,
        'Content-Length': 0,
      });
      return void res.end();
    case 'reset':
      return void req.socket.destroy();
    case 'oversize':
      return oversize(res, fault.bytes ?? 64 * 1024 * 1024, proxy);
    case 'bom':
      return send(res, 200, json, `\uFEFF${proxy.population.body()}`);
    case 'gzip': {
      const compressed =
        fault.bytes === undefined ? gzipSync(proxy.population.body()) : compressedFiller(fault.bytes);
      res.writeHead(200, {
        'Content-Type': json,
        'Content-Encoding': 'gzip',
        'Content-Length': compressed.length,
      });
      return void res.end(compressed);
    }
  }
}

function stamped(proxy: SimulatedProxy): string {
  return JSON.stringify(proxy.population.sessions().map((s) => ({ ...s, Served: proxy.stats.requests })));
}

export function send(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Sends 8 bytes every `intervalMs`: a connection that is alive but never finishes in time. */
export function trickle(res: ServerResponse, body: string, intervalMs: number) {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  let offset = 0;
  const timer = setInterval(
    () => {
      if (res.destroyed || offset >= body.length) {
        clearInterval(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body.slice(offset, offset + 8));
      offset += 8;
    },
    Math.max(1, intervalMs),
  );
  res.on('close', () => clearInterval(timer));
}

const FILLER_SESSION = JSON.stringify({
  UserDirectory: 'LAB',
  UserId: 'filler',
  Attributes: [],
  SessionId: '0'.repeat(36),
});

const fillerCount = (bytes: number) => Math.max(1, Math.floor(bytes / (FILLER_SESSION.length + 1)));

/** `count` filler sessions, comma-separated (a part of a JSON array). */
const fillerItems = (count: number) => Array(count).fill(FILLER_SESSION).join(',');

const compressedFillers = new Map<number, Buffer>();

/**
 * A gzip-compressed session array that inflates to about `bytes` bytes (a few kB for megabytes), made
 * once per size: compressing it takes the simulator's event loop away from the other proxies.
 */
function compressedFiller(bytes: number): Buffer {
  let compressed = compressedFillers.get(bytes);
  if (!compressed) {
    const list = `[${fillerItems(fillerCount(bytes))}]`;
    compressed = gzipSync(list);
    compressedFillers.set(bytes, compressed);
  }
  return compressed;
}

/** A syntactically valid session array of about `bytes` bytes, streamed without holding it in memory. */
function oversize(res: ServerResponse, bytes: number, proxy: SimulatedProxy) {
  const count = fillerCount(bytes);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let written = 0;
  res.write('[');
  const pump = () => {
    while (written < count) {
      const items = Math.min(1000, count - written);
      const more = res.write((written > 0 ? ',' : '') + fillerItems(items));
      written += items;
      if (!more) return void res.once('drain', pump);
    }
    res.end(']');
  };
  // A client with a size cap closes the connection mid-answer: expected, and counted once, whether the
  // answer reports it as a write error or only as its close.
  let abandoned = false;
  const abandon = () => {
    if (abandoned || res.writableFinished) return;
    abandoned = true;
    proxy.stats.abandoned++;
  };
  res.on('error', abandon);
  res.once('close', abandon);
  pump();
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export const LOGIN_PAGE = `<!DOCTYPE html>
<html><head><title>Qlik Sense</title></head>
<body><form method="post" action="/internal_forms_authentication/"><input name="username"><input type="password" name="pwd"></form></body></html>`;
