import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { InfluxWriteError, parseInfluxError } from './influx-write-error.js';

export interface TransportSettings {
  /** `http://host:port` or `https://host:port`. */
  url: string;
  /** PEM file of the CA that signed InfluxDB's certificate (https only). */
  caFile?: string | undefined;
  rejectUnauthorized?: boolean;
  timeoutMs: number;
  headers?: Record<string, string>;
}

export interface InfluxAnswer {
  status: number;
  body: string;
}

export interface InfluxRequest {
  /** Added to the URL's query string. */
  query?: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
}

/** One kept-alive HTTP(S) client per InfluxDB: the sink writes often and should not reconnect each time. */
export interface InfluxHttp {
  /** Any HTTP status resolves; a failure to connect, a TLS error or the deadline passing rejects. */
  get(path: string, options?: InfluxRequest): Promise<InfluxAnswer>;
  post(path: string, options?: InfluxRequest): Promise<InfluxAnswer>;
}

/** An answer larger than this is not InfluxDB's (its answers to us are a status and a short message). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * Node's http and https directly: a write is the InfluxDB sink's hot path, and an HTTP client library's
 * per-request machinery (config merging, a Buffer copy of each 350 kB body) cost it twice the CPU of the
 * request itself. Redirects are not followed; the deadline covers the whole exchange.
 */
export function createInfluxHttp(settings: TransportSettings): InfluxHttp {
  const base = new URL(settings.url.replace(/\/+$/, ''));
  const https = base.protocol === 'https:';
  const agent = https
    ? new HttpsAgent({
        keepAlive: true,
        maxSockets: 16,
        rejectUnauthorized: settings.rejectUnauthorized ?? true,
        ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}),
      })
    : new HttpAgent({ keepAlive: true, maxSockets: 16 });
  const send = https ? httpsRequest : httpRequest;
  const basePath = base.pathname === '/' ? '' : base.pathname;

  const exchange = (method: 'GET' | 'POST', path: string, options: InfluxRequest = {}) =>
    new Promise<InfluxAnswer>((resolve, reject) => {
      const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
      const headers: Record<string, string | number> = { ...settings.headers, ...options.headers };
      if (options.body !== undefined) headers['Content-Length'] = Buffer.byteLength(options.body);
      let settled = false;
      const finish = (error: Error | undefined, answer?: InfluxAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          req.destroy();
          reject(error);
        } else resolve(answer!);
      };
      const req = send(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: base.port,
          path: `${basePath}${path}${query}`,
          method,
          agent,
          headers,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              finish(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes: is this InfluxDB?`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', (error) => finish(error));
          res.on('aborted', () => finish(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
        },
      );
      const timer = setTimeout(
        () =>
          finish(
            Object.assign(new Error(`no complete answer within ${settings.timeoutMs} ms`), {
              code: 'ETIMEDOUT',
            }),
          ),
        settings.timeoutMs,
      );
      req.on('error', (error) => finish(error));
      req.end(options.body);
    });

  return {
    get: (path, options) => exchange('GET', path, options),
    post: (path, options) => exchange('POST', path, options),
  };
}

/** `Authorization` for InfluxDB 1.x basic auth. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Maps an HTTP answer or a transport failure of a write to InfluxWriteError (or nothing for 2xx). */
export function writeOutcome(status: number, body: unknown, what: string): InfluxWriteError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const { message, partial, dropped } = parseInfluxError(body);
  const text = `${what}: HTTP ${status}: ${message || '(no message)'}`;
  if (status === 400 || status === 413 || status === 422) {
    return new InfluxWriteError('rejected', text, {
      status,
      partial,
      ...(dropped === undefined ? {} : { dropped }),
    });
  }
  return new InfluxWriteError('unavailable', text, { status });
}

export function transportFailure(error: unknown, what: string): InfluxWriteError {
  if (error instanceof InfluxWriteError) return error;
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  const message = (error as Error)?.message ?? String(error);
  return new InfluxWriteError(
    'unavailable',
    `${what}: ${code && !message.includes(code) ? `${code} ` : ''}${message}`,
  );
}
