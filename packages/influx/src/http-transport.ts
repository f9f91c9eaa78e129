import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
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

/** One kept-alive HTTP(S) client per InfluxDB: the sink writes often and should not reconnect each time. */
export function createInfluxHttp(settings: TransportSettings): AxiosInstance {
  const https = settings.url.startsWith('https:');
  return axios.create({
    baseURL: settings.url.replace(/\/+$/, ''),
    timeout: settings.timeoutMs,
    maxRedirects: 0,
    proxy: false,
    validateStatus: () => true,
    transformResponse: [(data: unknown) => data],
    responseType: 'text',
    headers: settings.headers ?? {},
    ...(https
      ? {
          httpsAgent: new HttpsAgent({
            keepAlive: true,
            maxSockets: 16,
            rejectUnauthorized: settings.rejectUnauthorized ?? true,
            ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}),
          }),
        }
      : { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 16 }) }),
  });
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
  const code = isAxiosError(error) ? (error.code ?? '') : ((error as NodeJS.ErrnoException)?.code ?? '');
  const message = (error as Error)?.message ?? String(error);
  return new InfluxWriteError('unavailable', `${what}: ${code ? `${code} ` : ''}${message}`);
}
