import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { AxiosError, type AxiosInstance, isAxiosError } from 'axios';
import { InfluxWriteError, parseInfluxError } from './influx-write-error.js';

export interface TransportSettings {
  /** `http://host:port` or `https://host:port`. */
  url: string;
  /** PEM file of the CA that signed InfluxDB's certificate (https only). */
  caFile?: string | undefined;
  rejectUnauthorized?: boolean;
  timeoutMs: number;
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
 * The one connection pool to an InfluxDB, with its CA read once: our own requests (axios) and the
 * official client's writes (through its `transportOptions`) share it.
 */
export function createInfluxAgent(settings: Omit<TransportSettings, 'timeoutMs'>): HttpAgent {
  if (new URL(settings.url).protocol !== 'https:') return new HttpAgent({ keepAlive: true, maxSockets: 16 });
  return new HttpsAgent({
    keepAlive: true,
    maxSockets: 16,
    rejectUnauthorized: settings.rejectUnauthorized ?? true,
    ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}),
  });
}

/**
 * axios on the shared agent. The product, not axios, decides what an answer means: every status
 * resolves, and redirects are not followed. Proxies from the environment (`HTTPS_PROXY`, `NO_PROXY`) are
 * not used, as the official client does not use them for the writes to the same InfluxDB: both reach
 * `INFLUX_URL` directly. axios's `timeout` restarts with every chunk; the deadline covers the whole
 * exchange and is our own, through the request's signal. The size cap holds for a decompressed body too.
 */
export function createInfluxHttp(
  settings: Pick<TransportSettings, 'url' | 'timeoutMs'> & {
    agent: HttpAgent;
    headers?: Record<string, string>;
  },
): InfluxHttp {
  const http: AxiosInstance = axios.create({
    adapter: 'http',
    baseURL: settings.url.replace(/\/+$/, ''),
    httpAgent: settings.agent,
    httpsAgent: settings.agent,
    proxy: false,
    maxRedirects: 0,
    maxContentLength: MAX_ANSWER_BYTES,
    // Bodies go as given and answers arrive as text: no JSON guessing either way.
    transformRequest: [],
    responseType: 'text',
    transformResponse: [],
    validateStatus: () => true,
    // InfluxDB answers in a few bytes: nothing to gain from asking for compression.
    headers: { ...settings.headers, 'Accept-Encoding': false },
  });

  const exchange = async (method: 'GET' | 'POST', path: string, options: InfluxRequest = {}) => {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), settings.timeoutMs);
    try {
      const response = await http.request<string>({
        method,
        url: options.query ? `${path}?${new URLSearchParams(options.query)}` : path,
        data: options.body,
        headers: options.headers,
        signal: deadline.signal,
      });
      return { status: response.status, body: response.data ?? '' };
    } catch (error) {
      throw transportError(error, deadline.signal.aborted, settings.timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    get: (path, options) => exchange('GET', path, options),
    post: (path, options) => exchange('POST', path, options),
  };
}

/** The failure as Node reported it (its code and message), not axios's wrapper of it. */
function transportError(error: unknown, deadlinePassed: boolean, timeoutMs: number): Error {
  if (deadlinePassed) {
    return Object.assign(new Error(`no complete answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
  }
  if (!isAxiosError(error)) return error instanceof Error ? error : new Error(String(error));
  if (error.code === AxiosError.ERR_BAD_RESPONSE && /maxContentLength/.test(error.message)) {
    return new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes: is this InfluxDB?`);
  }
  if (error.code === AxiosError.ERR_BAD_RESPONSE && error.response !== undefined) {
    return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  }
  return error.cause instanceof Error ? error.cause : error;
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
