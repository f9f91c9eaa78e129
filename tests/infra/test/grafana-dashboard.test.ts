import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  type InfluxSeries,
  influxQuery,
  rows,
  type Simulator,
  startApp,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dashboardFile, datasourceFile, readCompose, readText, service } from './infra-files.js';

/*
 * The Grafana dashboard against real data: the pipeline (scheduler, poller, tracker, influx-sink) polls the
 * QPS simulator into a database of this test on the local InfluxDB 1.x, one virtual proxy per server
 * failing and one session ended (for the session end panels), then every query of the dashboard (panels
 * and template variables), with Grafana's macros substituted as Grafana would, must run and return data.
 */

interface Target {
  refId: string;
  query: string;
  rawQuery?: boolean;
  resultFormat?: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
  transformations?: Array<{ id: string; options: Record<string, unknown> }>;
}
interface Dashboard {
  uid: string;
  title: string;
  description?: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string; datasource?: { uid: string } }> };
}

const dashboard = JSON.parse(readText(dashboardFile)) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.targets?.length);
const variables = dashboard.templating.list.filter((v) => v.type === 'query');

/** A dashboard query as Grafana sends it for "last hour", every template variable on "All" (`.*`). */
function substitute(query: string): string {
  let q = query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval_ms', '10000')
    .replaceAll('$__interval', '10s')
    .replaceAll('$interval', '10s');
  for (const v of dashboard.templating.list) {
    q = q.replaceAll(`\${${v.name}}`, '.*').replaceAll(`[[${v.name}]]`, '.*').replaceAll(`$${v.name}`, '.*');
  }
  return q;
}

const withData = (series: InfluxSeries[]) => series.filter((s) => s.values.length > 0);

const prefix = uniqueName('infra_dashboard');
const db = uniqueName('qsm_infra_dashboard');
let certs: CertificateSet;
let sim: Simulator;
/** The session the test ends (the simulator's own churn may end more). */
let ended: Awaited<ReturnType<Simulator['sessions']>>[number] | undefined;

beforeAll(async () => {
  certs = await testCertificates('infra-dashboard');
  sim = await startSimulator(certs, [
    '--servers',
    '2',
    '--prefixes',
    '/,/hdr,/broken',
    '--sessions',
    '6',
    '--users',
    '4',
  ]);
  // Two error categories: http_5xx on sense1, invalid_response (a login page) on sense2.
  await sim.setFault('sense1', '/broken', { mode: 'status', status: 503 });
  await sim.setFault('sense2', '/broken', { mode: 'html' });
  const configFile = writeButlerConfig(tempDir('infra-dashboard'), {
    certs,
    pollingInterval: 1000,
    servers: ['sense1', 'sense2'].map((serverName) => ({
      serverName,
      qpsHost: sim.qpsHost(serverName),
      virtualProxies: ['/', '/hdr', '/broken'],
    })),
    influx: { db },
  });
  await startApp('influx-sink', { configFile, prefix });
  await startApp('tracker', { configFile, prefix });
  await startApp('poller', { configFile, prefix });
  await startApp('scheduler', { configFile, prefix });
  await waitUntil(
    async () => {
      const errors = rows(
        await influxQuery(db, 'SELECT count(error_count) FROM butler_sos_errors GROUP BY server_name'),
      );
      const summaries = rows(
        await influxQuery(
          db,
          'SELECT count(session_count) FROM user_session_summary GROUP BY server_name, user_session_virtual_proxy',
        ),
      );
      const details = rows(await influxQuery(db, 'SELECT count(user_id) FROM user_session_details'));
      return (
        errors.length === 2 &&
        summaries.length === 4 &&
        summaries.every((s) => Number(s.count) >= 2) &&
        Number(details[0]?.count) > 0
      );
    },
    'sessions of four virtual proxies and errors of two',
    { timeoutMs: 45_000, intervalMs: 250 },
  );
  // The tracker has seen the first polls: a session that ends now gives an end event.
  [ended] = await sim.sessions('sense1', '/');
  await sim.endSession('sense1', '/', ended!.SessionId);
  await waitUntil(
    async () => {
      const ends = rows(
        await influxQuery(
          db,
          `SELECT count("duration_ms") FROM "user_session_events" WHERE "event" = 'end' AND "server_name" = 'sense1' AND "user_session_virtual_proxy" = '/' AND "session_id" = '${ended!.SessionId}'`,
        ),
      );
      const site = rows(await influxQuery(db, 'SELECT count("unique_users") FROM "user_session_site"'));
      return Number(ends[0]?.count) >= 1 && Number(site[0]?.count) >= 3;
    },
    'a session end and the site figures',
    { timeoutMs: 30_000, intervalMs: 250 },
  );
});

afterAll(async () => {
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

describe('the Grafana dashboard', () => {
  it('is an InfluxQL dashboard of schema ~39 with the expected panels', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
    const titles = panels.map((p) => p.title);
    for (const title of [
      'Sessions per virtual proxy',
      'Unique users per server',
      'Current sessions',
      'Poll errors by category',
      'Distinct users (site)',
      'Users near the session limit',
      'Session durations',
      'Distinct users over the site',
      'Sessions started and ended per hour',
      'Session duration distribution',
      'Recent session ends',
    ])
      expect(titles).toContain(title);
    expect(panels.find((p) => p.title === 'Current sessions')?.type).toBe('table');
    expect(panels.find((p) => p.title === 'Sessions per virtual proxy')?.type).toBe('timeseries');
    expect(panels.find((p) => p.title === 'Session duration distribution')?.type).toBe('histogram');
    expect(panels.find((p) => p.title === 'Recent session ends')?.type).toBe('table');
  });

  it('uses the provisioned datasource everywhere (uid of provisioning/datasources/influxdb.yaml)', () => {
    const provisioning = parse(readText(datasourceFile)) as {
      datasources: Array<{
        uid: string;
        type: string;
        url: string;
        jsonData: { version: string; dbName: string };
      }>;
    };
    const [datasource] = provisioning.datasources;
    expect(datasource).toMatchObject({ type: 'influxdb', url: 'http://influxdb:8086' });
    expect(datasource?.jsonData.version).toBe('InfluxQL');
    // $INFLUX_DB: expanded by Grafana from the environment docker-compose gives it.
    expect(datasource?.jsonData.dbName).toBe('$INFLUX_DB');
    expect(service(readCompose(), 'grafana').environment).toHaveProperty('INFLUX_DB');

    const uid = datasource?.uid;
    expect(uid).toBeTruthy();
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(uid);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid ?? panel.datasource?.uid, `${panel.title} ${target.refId}`).toBe(uid);
        expect(target.rawQuery, `${panel.title} ${target.refId}`).toBe(true);
      }
    }
    for (const variable of variables) expect(variable.datasource?.uid, variable.name).toBe(uid);
  });

  it('returns data for every panel query', async () => {
    const empty: string[] = [];
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const query = substitute(target.query);
        expect(query, `${panel.title}: every macro and variable substituted`).not.toMatch(
          /\$[A-Za-z_{]|\[\[/,
        );
        const series = withData(await influxQuery(db, query));
        if (series.length === 0) empty.push(`${panel.title} (${target.refId}): ${query}`);
      }
    }
    expect(empty).toEqual([]);
  });

  it('returns values for every template variable', async () => {
    expect(variables.map((v) => v.name)).toEqual(expect.arrayContaining(['server', 'virtual_proxy']));
    for (const variable of variables) {
      const values = rows(await influxQuery(db, substitute(variable.query))).map((r) => r.value);
      expect(values.length, variable.name).toBeGreaterThan(0);
    }
    const servers = rows(
      await influxQuery(db, substitute(variables.find((v) => v.name === 'server')!.query)),
    );
    expect(servers.map((r) => r.value).sort()).toEqual(['sense1', 'sense2']);
  });

  it('groups only by tags: InfluxQL silently ignores a field in GROUP BY (error_category is a field)', async () => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const query = substitute(target.query);
        const measurement = /FROM\s+"([^"]+)"/.exec(query)?.[1];
        const groupBy = /GROUP BY (.*?)(?: fill\(|\)$|$)/.exec(query)?.[1] ?? '';
        const keys = [...groupBy.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
        if (!measurement || keys.length === 0) continue;
        const tagKeys = rows(await influxQuery(db, `SHOW TAG KEYS FROM "${measurement}"`)).map(
          (r) => r.tagKey,
        );
        for (const key of keys) expect(tagKeys, `${panel.title}: GROUP BY "${key}"`).toContain(key);
      }
    }
  });

  it('"Poll errors by category" shows each category: its Group by transformation sums error_count per category', async () => {
    const panel = panels.find((p) => p.title === 'Poll errors by category')!;
    expect(dashboard.description ?? '').toMatch(/error_category is a field/);
    const groupBy = panel.transformations?.find((t) => t.id === 'groupBy');
    expect(groupBy?.options.fields).toMatchObject({
      error_category: { operation: 'groupby' },
      error_count: { operation: 'aggregate', aggregations: ['sum'] },
    });
    // What the transformation computes from the query's rows.
    const perCategory = new Map<string, number>();
    for (const target of panel.targets ?? []) {
      for (const row of rows(await influxQuery(db, substitute(target.query)))) {
        const category = String(row.error_category);
        perCategory.set(category, (perCategory.get(category) ?? 0) + Number(row.error_count));
      }
    }
    expect([...perCategory.keys()].sort()).toEqual(['http_5xx', 'invalid_response']);
    for (const count of perCategory.values()) expect(count).toBeGreaterThanOrEqual(2);
  });

  it('"Current sessions" lists user, directory, proxy and server of each session of the last poll window', async () => {
    const panel = panels.find((p) => p.title === 'Current sessions')!;
    const table = rows(await influxQuery(db, substitute(panel.targets![0]!.query)));
    expect(table.length).toBeGreaterThan(0);
    for (const row of table) {
      expect(row).toHaveProperty('user');
      expect(row).toHaveProperty('directory');
      expect(String(row.user)).not.toBe('');
      expect(['sense1', 'sense2']).toContain(row.server_name);
      expect(['/', '/hdr']).toContain(row.user_session_virtual_proxy);
    }
    const organize = panel.transformations?.find((t) => t.id === 'organize')?.options as {
      renameByName: Record<string, string>;
      excludeByName: Record<string, boolean>;
    };
    expect(organize.renameByName).toMatchObject({
      user_session_virtual_proxy: 'proxy',
      server_name: 'server',
    });
    expect(organize.excludeByName.user_session_id).toBe(true);
    // One row per session the simulator serves on the healthy proxies.
    const served = (await sim.state()).servers.flatMap((s) =>
      s.proxies.filter((p) => p.prefix !== '/broken').map((p) => p.sessions),
    );
    expect(table.length).toBeGreaterThanOrEqual(Math.min(...served));
  });
});

describe('the session tracking panels', () => {
  const query = (title: string, refId = 'A') =>
    substitute(panels.find((p) => p.title === title)!.targets!.find((t) => t.refId === refId)!.query);

  it('"Distinct users (site)" shows the latest interval\'s distinct users and the peak of the range', async () => {
    // The simulator serves 4 users per server: at most 8 distinct users over the site.
    const now = Number(rows(await influxQuery(db, query('Distinct users (site)', 'A')))[0]?.now);
    const peak = Number(rows(await influxQuery(db, query('Distinct users (site)', 'B')))[0]?.peak);
    expect(now).toBeGreaterThan(0);
    expect(peak).toBeGreaterThanOrEqual(now);
    expect(peak).toBeLessThanOrEqual(8);
  });

  it('"Sessions started and ended per hour" counts the starts and the end the pipeline wrote', async () => {
    const perEvent = rows(await influxQuery(db, query('Sessions started and ended per hour')));
    const sum = (event: string) =>
      perEvent.filter((r) => r.event === event).reduce((total, r) => total + Number(r.count), 0);
    // Every session served by a healthy proxy started (first poll: start_known false); at least one ended.
    expect(sum('start')).toBeGreaterThanOrEqual(4);
    expect(sum('end')).toBeGreaterThanOrEqual(1);
    expect(sum('start')).toBeGreaterThan(sum('end'));
  });

  it('"Recent session ends" lists the ended session with its user, proxy, server, times, duration and reason', async () => {
    const ends = rows(await influxQuery(db, query('Recent session ends')));
    const end = ends.find((r) => r.server === 'sense1' && r.proxy === '/' && r.user === ended?.UserId);
    expect(end).toMatchObject({ directory: ended?.UserDirectory, reason: 'gone' });
    // Newest first.
    const times = ends.map((r) => Number(r.time));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(Number(end?.['last seen'])).toBeGreaterThanOrEqual(Number(end?.['first seen']));
    expect(end?.duration).toBe(Number(end?.['last seen']) - Number(end?.['first seen']));
  });
});
