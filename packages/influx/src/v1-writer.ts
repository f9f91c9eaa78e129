import type { InfluxV1Settings } from '@qsm/config';
import {
  basicAuth,
  createInfluxAgent,
  createInfluxHttp,
  type InfluxAnswer,
  type TransportSettings,
  transportFailure,
  writeOutcome,
} from './influx-http.js';
import { InfluxWriteError } from './influx-write-error.js';
import type { InfluxWriter } from './influx-writer.js';

/**
 * InfluxDB 1.x: line protocol over HTTP `/write` (every 1.x has it; the 2.x compatibility API only
 * exists from 1.8). Basic auth when `v1Config.auth.enable`; the database and retention policy are
 * created when missing, as Butler SOS does.
 */
export function createV1Writer(transport: TransportSettings, v1: InfluxV1Settings): InfluxWriter {
  const http = createInfluxHttp({
    url: transport.url,
    timeoutMs: transport.timeoutMs,
    agent: createInfluxAgent(transport),
    headers: v1.auth.enable ? { Authorization: basicAuth(v1.auth.username, v1.auth.password) } : {},
  });
  const description = `InfluxDB v1 ${transport.url} database ${v1.dbName}`;
  const db = quoteIdentifier(v1.dbName);
  const rp = quoteIdentifier(v1.retentionPolicy.name);

  const query = async (q: string) => {
    let response: InfluxAnswer;
    try {
      response = await http.post('/query', {
        body: new URLSearchParams({ q }).toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    } catch (error) {
      throw transportFailure(error, description);
    }
    const failure = writeOutcome(
      response.status,
      response.body,
      `${description}: ${q.split(' ').slice(0, 3).join(' ')}`,
    );
    if (failure) throw new InfluxWriteError('unavailable', failure.message, failure.details);
    const body = JSON.parse(response.body || '{}') as {
      results?: Array<{ error?: string; series?: Array<{ values?: unknown[][] }> }>;
    };
    const error = body.results?.find((r) => r.error)?.error;
    if (error) throw new InfluxWriteError('unavailable', `${description}: ${q}: ${error}`);
    return body.results ?? [];
  };

  const policyExists = async () => {
    const policies = await query(`SHOW RETENTION POLICIES ON ${db}`);
    return (policies[0]?.series?.[0]?.values ?? []).some((row) => String(row[0]) === v1.retentionPolicy.name);
  };

  const createTarget = async () => {
    const databases = await query('SHOW DATABASES');
    const names = (databases[0]?.series?.[0]?.values ?? []).map((row) => String(row[0]));
    const created = !names.includes(v1.dbName);
    const notes: string[] = [];
    if (created) {
      await query(`CREATE DATABASE ${db}`);
      notes.push(`created database ${v1.dbName}`);
    }
    if (!(await policyExists())) {
      try {
        await query(
          `CREATE RETENTION POLICY ${rp} ON ${db} DURATION ${v1.retentionPolicy.duration} REPLICATION 1${created ? ' DEFAULT' : ''}`,
        );
        notes.push(`created retention policy ${v1.retentionPolicy.name} (${v1.retentionPolicy.duration})`);
      } catch (error) {
        // Another sink created it between our look and our create ("conflicts with an existing policy").
        if (!(await policyExists())) throw error;
      }
    }
    return notes.length ? notes.join(', ') : undefined;
  };

  // The start-up check and a write that finds the database gone may ask at once: they share one run.
  let creating: Promise<string | undefined> | undefined;
  const ensureTarget = () => {
    creating ??= createTarget().finally(() => {
      creating = undefined;
    });
    return creating;
  };

  const writeOnce = async (body: string) => {
    try {
      return await http.post('/write', {
        query: { db: v1.dbName, rp: v1.retentionPolicy.name, precision: 'ns' },
        body,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      });
    } catch (error) {
      throw transportFailure(error, description);
    }
  };

  return {
    description,
    ensureTarget,
    async write(lines) {
      const body = lines.join('\n');
      let answer = await writeOnce(body);
      // The database was dropped (or never created): create it and write again once.
      if (answer.status === 404 && /database not found|retention policy not found/i.test(answer.body)) {
        await ensureTarget();
        answer = await writeOnce(body);
      }
      const failure = writeOutcome(answer.status, answer.body, description);
      if (failure) throw failure;
    },
    async ping() {
      try {
        return (await http.get('/ping')).status === 204;
      } catch {
        // Unreachable is this question's answer: not ready.
        return false;
      }
    },
  };
}

/** `my "db"` -> `"my \"db\""` for InfluxQL. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
