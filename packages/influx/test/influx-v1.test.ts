import type { PollResult } from '@qsm/model';
import {
  dropInfluxDatabase,
  influxQuery,
  influxV1TestSettings,
  rows,
  services,
  uniqueName,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildErrorLine,
  buildSessionLines,
  createInfluxWriter,
  createPointBatcher,
  InfluxWriteError,
  type InfluxWriter,
} from '../src/index.js';

const db = uniqueName('qsm_influx_v1');
const conflictDb = `${db}_conflict`;
// Recent times: older points would fall outside the test's one-day retention policy.
const T = Date.now() - 600_000;
let writer: InfluxWriter;

const HOSTILE = [
  ['LAB', 'user with spaces'],
  ['dir,comma', 'comma,user'],
  ['dir=eq', 'equals=user'],
  ['dir"quote', 'double"quote'],
  ['LAB', "single'quote"],
  ['dir\\back', 'back\\slash'],
  ['LAB', 'trailing\\'],
  ['LAB', 'new\nline'],
  ['LAB', 'tab\tuser'],
  ['LAB', 'emoji 😀 user'],
  ['ДОМЕН', 'ünïcödé Łódź 東京'],
  ['', ''],
  ['LAB', 'x'.repeat(300)],
  ['LAB', '#hash+plus/slash'],
  ['LAB', ' leading and trailing '],
] as const;

const result = (sessions: PollResult['sessions'], polledAt: number, virtualProxy = '/hdr'): PollResult => ({
  v: 1,
  kind: 'sessions',
  serverName: 'sense1',
  serverDescription: 'Central node, "main"',
  hostName: 'sense1.lab',
  serverTags: { server_group: 'PROD' },
  qpsHost: 'sense1.lab:4243',
  virtualProxy,
  polledAt,
  durationMs: 5,
  sessions,
});

/** What a tag reads back as on 1.x: line protocol cannot carry these exactly (see line-protocol.ts). */
function expectedTag(value: string): string | null {
  if (value === '') return null;
  let tag = value.replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  if (tag.endsWith('\\')) tag += ' ';
  return tag;
}

beforeAll(() => {
  writer = writerFor(db);
});

afterAll(async () => {
  await dropInfluxDatabase(db);
  await dropInfluxDatabase(conflictDb);
});

function writerFor(dbName: string, port = 8086) {
  return createInfluxWriter(
    { ...influxV1TestSettings(dbName), port },
    port === 8086 ? { url: services.influxUrl } : { timeoutMs: 2000 },
  );
}

describe('the InfluxDB 1.x writer against a real InfluxDB', () => {
  it('creates the database and its retention policy when missing, and only then', async () => {
    expect(await writer.ensureTarget()).toBe(
      'created database ' + db + ', created retention policy short (1d)',
    );
    expect(await writer.ensureTarget()).toBeUndefined();
    const policies = rows(await influxQuery(db, `SHOW RETENTION POLICIES ON "${db}"`));
    expect(policies.find((p) => p.name === 'short')).toMatchObject({ default: true });
  });

  it('creates a missing database once when asked at once by one sink and by two', async () => {
    const racedDb = uniqueName('qsm_v1_race');
    try {
      const [a, b] = [writerFor(racedDb), writerFor(racedDb)];
      // The sink's start-up check and a write that found the database gone, in two sinks at once.
      const notes = await Promise.all([a.ensureTarget(), a.ensureTarget(), b.ensureTarget()]);
      expect(notes[0]).toBe(notes[1]);
      expect(notes.filter((n) => n?.includes('created retention policy short'))).not.toHaveLength(0);
      const policies = rows(await influxQuery(racedDb, `SHOW RETENTION POLICIES ON "${racedDb}"`));
      expect(policies.filter((p) => p.name === 'short')).toHaveLength(1);
    } finally {
      await dropInfluxDatabase(racedDb);
    }
  });

  it('reads back every hostile identity exactly in the fields, and as documented in the tags', async () => {
    const sessions = HOSTILE.map(([UserDirectory, UserId], i) => ({
      UserDirectory,
      UserId,
      SessionId: `hostile-${i}`,
      Attributes: [],
    }));
    await writer.write(buildSessionLines(result(sessions, T), { version: 1, excludeUser: [] }));
    const details = rows(await influxQuery(db, 'SELECT * FROM short.user_session_details'));
    expect(details).toHaveLength(HOSTILE.length);
    for (const [i, [directory, userId]] of HOSTILE.entries()) {
      const row = details.find((r) => r.session_id === `hostile-${i}`);
      expect(row, `session ${i}`).toBeDefined();
      expect(row?.user_id).toBe(userId);
      expect(row?.user_directory).toBe(directory);
      expect(row?.user_session_user_id ?? null).toBe(expectedTag(userId));
      expect(row?.user_session_user_directory ?? null).toBe(expectedTag(directory));
      expect(row?.user_session_virtual_proxy).toBe('/hdr');
      expect(row?.server_description).toBe('Central node, "main"');
    }
    const summary = rows(
      await influxQuery(db, 'SELECT session_count, session_user_id_list FROM short.user_session_summary'),
    );
    expect(summary[0]?.session_count).toBe(HOSTILE.length);
    expect(summary[0]?.session_user_id_list).toBe(HOSTILE.map(([d, u]) => `${d}\\${u}`).join(','));
  });

  it('reads back a user id with TAB, spaces, commas, equals, quotes, backslashes and unicode unchanged in its tag', async () => {
    const userId = 'tab\there sp ace,comma=eq"dq\'sq\\bs\\,\\= ünï 😀 東京';
    const directory = 'DIR\tTAB';
    const sessions = [{ UserDirectory: directory, UserId: userId, SessionId: 'exact-1', Attributes: [] }];
    await writer.write(
      buildSessionLines(result(sessions, T + 200_000, '/exact'), { version: 1, excludeUser: [] }),
    );
    const found = rows(
      await influxQuery(
        db,
        `SELECT * FROM short.user_session_details WHERE user_session_virtual_proxy = '/exact'`,
      ),
    );
    expect(found).toHaveLength(1);
    expect(found[0]?.user_session_user_id).toBe(userId);
    expect(found[0]?.user_session_user_directory).toBe(directory);
    expect(found[0]?.user_id).toBe(userId);
  });

  it('stores Butler SOS field types: session_count integer, the rest strings', async () => {
    const fields = rows(await influxQuery(db, 'SHOW FIELD KEYS FROM short.user_session_summary'));
    expect(fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ fieldKey: 'session_count', fieldType: 'integer' }),
        expect.objectContaining({ fieldKey: 'session_user_id_list', fieldType: 'string' }),
      ]),
    );
  });

  it('writing the same result twice leaves the same data (the poll time is the timestamp)', async () => {
    const sessions = [{ UserDirectory: 'LAB', UserId: 'twice', SessionId: 'twice-1', Attributes: [] }];
    const lines = buildSessionLines(result(sessions, T + 100_000, '/twice'), { version: 1, excludeUser: [] });
    await writer.write(lines);
    await writer.write(lines);
    const found = rows(
      await influxQuery(
        db,
        `SELECT count(session_id) FROM short.user_session_details WHERE user_session_virtual_proxy = '/twice'`,
      ),
    );
    expect(found[0]?.count).toBe(1);
  });

  it('reports a rejected point with InfluxDB message and keeps the rest of the batch', async () => {
    // Someone wrote a float error_count first: our integer error records conflict with it in that shard.
    // Same timestamp as ours, so both land in one shard whatever the hour (shards are per hour here).
    const other = writerFor(conflictDb);
    await other.ensureTarget();
    await other.write([`butler_sos_errors,error_type=OTHER error_count=1.5 ${T + 300_000}000000`]);
    const batcher = createPointBatcher({
      maxPoints: 1000,
      flushIntervalMs: 10,
      parallelWrites: 1,
      write: (l) => other.write(l),
    });
    const good = buildSessionLines(result([], T + 300_000, '/good'), { version: 1, excludeUser: [] });
    const failure = {
      ...result([], T + 300_000),
      kind: 'error' as const,
      failedAt: T + 300_000,
      category: 'timeout',
      message: 'slow',
      url: 'https://x/qps/session',
      attempt: 1,
    };
    const bad = [buildErrorLine(failure, 'butler_sos_errors', 1)];
    const outcomes = await Promise.allSettled([batcher.add(good), batcher.add(bad)]);
    expect(outcomes[0].status).toBe('fulfilled');
    expect(outcomes[1].status).toBe('rejected');
    const error = (outcomes[1] as PromiseRejectedResult).reason as InfluxWriteError;
    expect(error).toBeInstanceOf(InfluxWriteError);
    expect(error.kind).toBe('rejected');
    expect(error.message).toMatch(/field type conflict/);
    const goodRows = rows(
      await influxQuery(
        conflictDb,
        `SELECT session_count FROM short.user_session_summary WHERE user_session_virtual_proxy = '/good'`,
      ),
    );
    expect(goodRows).toHaveLength(1);
  });

  it('classifies an unreachable InfluxDB as unavailable (retry later), not rejected', async () => {
    const offline = writerFor(db, 1);
    const error = await offline.write(['m x=1i 1']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfluxWriteError);
    expect((error as InfluxWriteError).kind).toBe('unavailable');
    expect(await offline.ping()).toBe(false);
  });
});
