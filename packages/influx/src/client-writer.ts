import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import type { InfluxV2Settings, InfluxV3Settings } from '@qsm/config';
import { durationSeconds } from './duration.js';
import {
  createInfluxAgent,
  createInfluxHttp,
  type InfluxRequest,
  type TransportSettings,
  transportFailure,
  writeOutcome,
} from './influx-http.js';
import { InfluxWriteError } from './influx-write-error.js';
import type { InfluxWriter } from './influx-writer.js';

interface ClientTarget {
  version: 2 | 3;
  org: string;
  bucket: string;
  token: string;
  description: string;
  retentionDuration: string;
}

export function createV2Writer(transport: TransportSettings, v2: InfluxV2Settings): InfluxWriter {
  return createClientWriter(transport, {
    version: 2,
    org: v2.org,
    bucket: v2.bucket,
    token: v2.token,
    description: v2.description,
    retentionDuration: v2.retentionDuration,
  });
}

/** InfluxDB 3 takes the 2.x write API (`/api/v2/write`) with the database as bucket. */
export function createV3Writer(transport: TransportSettings, v3: InfluxV3Settings): InfluxWriter {
  return createClientWriter(
    { ...transport, timeoutMs: v3.writeTimeout },
    {
      version: 3,
      org: '',
      bucket: v3.database,
      token: v3.token,
      description: v3.description,
      retentionDuration: v3.retentionDuration,
    },
  );
}

/**
 * Writes through @influxdata/influxdb-client with its own retries off: the sink job is the retry unit,
 * and a job completes only after `close()` resolved, i.e. after InfluxDB acknowledged the lines.
 */
function createClientWriter(transport: TransportSettings, target: ClientTarget): InfluxWriter {
  const agent = createInfluxAgent(transport);
  const influx = new InfluxDB({
    url: transport.url,
    token: target.token,
    timeout: transport.timeoutMs,
    transportOptions: { agent },
  });
  const http = createInfluxHttp({
    url: transport.url,
    timeoutMs: transport.timeoutMs,
    agent,
    headers: { Authorization: `Token ${target.token}` },
  });
  const what = target.version === 2 ? 'bucket' : 'database';
  const description = `InfluxDB v${target.version} ${transport.url} ${what} ${target.bucket}`;

  const ensureBucket = async (): Promise<string | undefined> => {
    const found = await http.get('/api/v2/buckets', { query: { name: target.bucket, org: target.org } });
    if (noSuchApi(found.status, found.body)) {
      return `${description}: no bucket API here (not InfluxDB 2.x?), writing without creating the bucket`;
    }
    const failed = writeOutcome(found.status, found.body, `${description}: list buckets`);
    if (failed) throw new InfluxWriteError('unavailable', failed.message, failed.details);
    const buckets = (JSON.parse(found.body) as { buckets?: unknown[] }).buckets ?? [];
    if (buckets.length > 0) return undefined;
    const orgs = await http.get('/api/v2/orgs', { query: { org: target.org } });
    const orgFailed = writeOutcome(orgs.status, orgs.body, `${description}: find org ${target.org}`);
    if (orgFailed) throw new InfluxWriteError('unavailable', orgFailed.message, orgFailed.details);
    const orgID = (JSON.parse(orgs.body) as { orgs?: Array<{ id: string }> }).orgs?.[0]?.id;
    if (!orgID)
      throw new InfluxWriteError('unavailable', `${description}: organization ${target.org} not found`);
    const everySeconds = durationSeconds(target.retentionDuration);
    const created = await http.post(
      '/api/v2/buckets',
      json({
        orgID,
        name: target.bucket,
        description: target.description,
        retentionRules: everySeconds > 0 ? [{ type: 'expire', everySeconds }] : [],
      }),
    );
    const createFailed = writeOutcome(created.status, created.body, `${description}: create bucket`);
    if (createFailed && created.status !== 422)
      throw new InfluxWriteError('unavailable', createFailed.message);
    return `created bucket ${target.bucket}`;
  };

  const ensureDatabase = async (): Promise<string | undefined> => {
    const created = await http.post('/api/v3/configure/database', json({ db: target.bucket }));
    if (noSuchApi(created.status, created.body)) {
      return `${description}: no database API here, writing without creating the database`;
    }
    if (created.status === 409) return undefined;
    const failed = writeOutcome(created.status, created.body, `${description}: create database`);
    if (failed && !/already exists/i.test(failed.message))
      throw new InfluxWriteError('unavailable', failed.message);
    return failed ? undefined : `created database ${target.bucket}`;
  };

  return {
    description,
    async ensureTarget() {
      try {
        return await (target.version === 2 ? ensureBucket() : ensureDatabase());
      } catch (error) {
        throw transportFailure(error, description);
      }
    },
    async write(lines) {
      const api = influx.getWriteApi(target.org, target.bucket, 'ns', {
        batchSize: lines.length + 1,
        maxBufferLines: lines.length + 1,
        flushInterval: 0,
        maxRetries: 0,
        defaultTags: {},
        // The failure becomes this write's outcome, reported once by the sink; the client logs nothing.
        writeFailed: (error) => Promise.reject(error),
      });
      api.writeRecords(lines);
      try {
        await api.close();
      } catch (error) {
        if (error instanceof HttpError) {
          throw (
            writeOutcome(error.statusCode, error.body, description) ?? transportFailure(error, description)
          );
        }
        throw transportFailure(error, description);
      }
    },
    async ping() {
      try {
        const response = await http.get('/health');
        return response.status < 500;
      } catch {
        // Unreachable is this question's answer: not ready.
        return false;
      }
    },
  };
}

function json(value: unknown): InfluxRequest {
  return { body: JSON.stringify(value), headers: { 'Content-Type': 'application/json' } };
}

/** Servers that take `/api/v2/write` without the rest of the API (VictoriaMetrics, InfluxDB 1.8) say so like this. */
function noSuchApi(status: number, body: unknown): boolean {
  return (
    status === 404 || status === 405 || (status === 400 && /unsupported path|not found/i.test(String(body)))
  );
}
