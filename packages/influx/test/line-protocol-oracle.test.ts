import { Point } from '@influxdata/influxdb-client';
import type { PollFailure, PollResult } from '@qsm/model';
import { sessionIdentity } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { buildErrorLine } from '../src/error-lines.js';
import { formatLine, type InfluxVersion, quotedField } from '../src/line-protocol.js';
import { buildSessionLines, proxyTags, sessionIdHasher, uniqueUserList } from '../src/session-lines.js';

/*
 * The official client's Point is the oracle for our lines. Where they differ, on purpose:
 * 1. A tag key or value ending in a backslash gets a space appended (Point writes it as it is, and
 *    InfluxDB refuses the line).
 * 2. On InfluxDB 1.x a TAB in a tag key or value is written raw (Point writes `\t`, which 1.x stores as a
 *    backslash and a `t`).
 * `pointTag` and `fromPoint` apply exactly these two to Point's input and output; nothing else differs.
 */

/** Stands in for a TAB while Point writes a 1.x line: Point leaves it alone, and no sample contains it. */
const TAB_STAND_IN = '\u0001';

function pointTag(value: string, version: InfluxVersion): string {
  const substituted = value.endsWith('\\') ? `${value} ` : value;
  return version === 1 ? substituted.replaceAll('\t', TAB_STAND_IN) : substituted;
}

function fromPoint(point: Point): string {
  return point.toLineProtocol({ convertTime: (t) => `${t}000000` })!.replaceAll(TAB_STAND_IN, '\t');
}

const VERSIONS = [1, 2, 3] as const;

/** ~200 strings from the characters line protocol cares about, and some it does not (seeded, stable). */
function generatedStrings(count: number): string[] {
  const alphabet = [
    ',',
    '=',
    ' ',
    '"',
    '\\',
    '\t',
    '\n',
    '\r',
    'a',
    'Z',
    '0',
    '/',
    '😀',
    'ü',
    '東',
    "'",
    '#',
  ];
  let seed = 17;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  const strings = ['', 'plain', '\\', 'trailing\\', '\t', 'a\\,b', 'a\\=b', 'a\\ b', '\\\\', 'x'.repeat(300)];
  while (strings.length < count) {
    const length = (next() % 12) + 1;
    strings.push(Array.from({ length }, () => alphabet[next() % alphabet.length]).join(''));
  }
  return strings;
}

const STRINGS = generatedStrings(200);

describe('lines against the official client Point', () => {
  it('write a measurement as Point does, on every version', () => {
    for (const version of VERSIONS) {
      for (const value of STRINGS.filter(Boolean)) {
        expect(formatLine(version, value, {}, [['f', '1i']], 5)).toBe(
          fromPoint(new Point(value).intField('f', 1).timestamp(5)),
        );
      }
    }
  });

  it('write a tag value as Point does, but for the listed differences', () => {
    for (const version of VERSIONS) {
      for (const value of STRINGS) {
        expect(formatLine(version, 'm', { t: value }, [['f', '1i']], 5), JSON.stringify(value)).toBe(
          fromPoint(new Point('m').tag('t', pointTag(value, version)).intField('f', 1).timestamp(5)),
        );
      }
    }
  });

  it('write a tag key as Point does, but for the listed differences', () => {
    for (const version of VERSIONS) {
      for (const key of STRINGS) {
        expect(formatLine(version, 'm', { [key]: 'v' }, [['f', '1i']], 5), JSON.stringify(key)).toBe(
          fromPoint(new Point('m').tag(pointTag(key, version), 'v').intField('f', 1).timestamp(5)),
        );
      }
    }
  });

  it('write a string field value exactly as Point does, on every version', () => {
    for (const version of VERSIONS) {
      for (const value of STRINGS) {
        expect(formatLine(version, 'm', {}, [['f', quotedField(value)]], 5)).toBe(
          fromPoint(new Point('m').stringField('f', value).timestamp(5)),
        );
      }
    }
  });

  it('differ from Point in exactly the listed ways', () => {
    const tagOf = (version: InfluxVersion, value: string) =>
      formatLine(version, 'm', { t: value }, [['f', '1i']], 1);
    const pointOf = (value: string) =>
      fromPoint(new Point('m').tag('t', value).intField('f', 1).timestamp(1));
    expect(tagOf(1, 'a\tb')).toBe('m,t=a\tb f=1i 1000000');
    expect(pointOf('a\tb')).toBe('m,t=a\\tb f=1i 1000000');
    for (const version of [2, 3] as const) expect(tagOf(version, 'a\tb')).toBe('m,t=a\\tb f=1i 1000000');
    for (const version of VERSIONS) {
      expect(tagOf(version, 'dom\\')).toBe('m,t=dom\\\\  f=1i 1000000');
      expect(tagOf(version, 'a\nb\rc')).toBe('m,t=a\\nb\\rc f=1i 1000000');
      expect(tagOf(version, '')).toBe('m f=1i 1000000');
    }
    expect(pointOf('dom\\')).toBe('m,t=dom\\ f=1i 1000000');
  });
});

/** The session lines built one by one through Point, with the listed differences applied. */
function linesThroughPoint(result: PollResult, version: InfluxVersion, hashKey?: string): string[] {
  const tags = Object.entries(proxyTags(result));
  const withTags = (measurement: string) => {
    const point = new Point(measurement).timestamp(result.polledAt);
    for (const [name, value] of tags) point.tag(pointTag(name, version), pointTag(value, version));
    return point;
  };
  const sessions = result.sessions.map((s) => sessionIdentity(s)!);
  const n = sessions.length;
  const users = uniqueUserList(sessions);
  const count = (p: Point) =>
    version === 2 ? p.uintField('session_count', n) : p.intField('session_count', n);
  const summary = count(withTags('user_session_summary')).stringField('session_user_id_list', users);
  const list = withTags('user_session_list');
  if (version !== 1) count(list);
  list.stringField('session_user_id_list', users);
  const hash = hashKey ? sessionIdHasher(hashKey) : (id: string) => id;
  const details = sessions.map((s) =>
    withTags('user_session_details')
      .tag('user_session_id', pointTag(hash(s.sessionId), version))
      .tag('user_session_user_directory', pointTag(s.directory, version))
      .tag('user_session_user_id', pointTag(s.userId, version))
      .stringField('session_id', hash(s.sessionId))
      .stringField('user_directory', s.directory)
      .stringField('user_id', s.userId),
  );
  return [summary, list, ...details].map(fromPoint);
}

const NASTY = [
  '',
  'plain',
  'a b,c=d"e\\f\ng\th\rj',
  'trailing\\',
  '😀 ünï 東京',
  '"quoted" \\ back',
  '=',
  ',',
  ' ',
  '\\',
  '\t',
  'x'.repeat(300),
];

const result = (serverTags: Record<string, string>, values: string[], virtualProxy = '/hdr'): PollResult => ({
  v: 1,
  kind: 'sessions',
  serverName: values[1] ?? 'sense1',
  serverDescription: values[2] ?? 'Central node',
  hostName: values[3] ?? 'sense1.lab',
  serverTags,
  qpsHost: 'sense1.lab:4243',
  virtualProxy,
  polledAt: 1_700_000_000_123,
  durationMs: 12,
  sessions: values.map((value, i) => ({
    UserDirectory: NASTY[(i * 3) % NASTY.length]!,
    UserId: value,
    SessionId: NASTY[(i * 7 + 1) % NASTY.length]! + String(i),
    Attributes: [],
  })),
});

describe('session lines', () => {
  const serverTagSets: Array<Record<string, string>> = [
    {},
    { server_group: 'PROD' },
    // Server tags that sort before, between and after the built-in ones, with values that need escaping.
    { aaa: 'x y', m_tag: 'a,b', zzz: 'q=r', 'key with space': 'v', 'tab\tkey': 'tab\tvalue' },
    // Server tags named like a built-in tag or a session tag: the later tag of a name wins, as in Point.
    { host: 'overridden', user_session_id: 'from-config', user_session_virtual_proxy: '/other' },
    // Empty key and empty value are left out.
    { '': 'no key', empty: '' },
  ];

  it('are what Point writes, but for the listed differences, for every version and nasty value', () => {
    for (const serverTags of serverTagSets) {
      for (const virtualProxy of ['/', '/hdr', 'a b']) {
        const r = result(serverTags, NASTY, virtualProxy);
        for (const version of VERSIONS) {
          expect(buildSessionLines(r, { version, excludeUser: [] })).toEqual(linesThroughPoint(r, version));
        }
        expect(
          buildSessionLines(r, {
            version: 1,
            excludeUser: [],
            sessionIdHashKey: 'a-long-secret-key-for-hmac',
          }),
        ).toEqual(linesThroughPoint(r, 1, 'a-long-secret-key-for-hmac'));
      }
    }
  });

  it('give a result without sessions its summary and list only', () => {
    const r = result({ server_group: 'PROD' }, []);
    expect(buildSessionLines(r, { version: 1, excludeUser: [] })).toEqual(linesThroughPoint(r, 1));
    expect(buildSessionLines(r, { version: 1, excludeUser: [] })).toHaveLength(2);
  });
});

describe('error lines', () => {
  /** The error record as the sink built it through Point, with the listed differences applied. */
  function errorThroughPoint(failure: PollFailure, measurement: string, version: InfluxVersion): string {
    const point = new Point(measurement)
      .timestamp(failure.failedAt)
      .tag('error_type', 'PROXY_API')
      .tag('server_name', pointTag(failure.serverName, version))
      .tag('host', pointTag(failure.qpsHost, version))
      .tag('virtual_proxy', pointTag(failure.virtualProxy, version))
      .intField('error_count', 1)
      .stringField('error_category', failure.category)
      .stringField('error_message', failure.message)
      .stringField('request_url', failure.url);
    if (failure.code) point.stringField('error_code', failure.code);
    if (failure.httpStatus !== undefined) point.intField('http_status', failure.httpStatus);
    if (failure.timeoutMs !== undefined) point.intField('request_timeout_ms', failure.timeoutMs);
    return fromPoint(point);
  }

  const base: PollFailure = {
    v: 1,
    kind: 'error',
    serverName: 'sense1',
    serverDescription: 'Central node',
    hostName: 'sense1.lab',
    serverTags: {},
    qpsHost: 'sense1.lab:4243',
    virtualProxy: '/hdr',
    failedAt: 1_700_000_000_456,
    category: 'timeout',
    message: 'no answer within 5000 ms',
    url: 'https://sense1.lab:4243/qps/hdr/session',
    attempt: 1,
  } as PollFailure;

  it('are what Point writes, but for the listed differences, with and without the optional fields', () => {
    const failures: PollFailure[] = [
      base,
      { ...base, code: 'ETIMEDOUT', httpStatus: 503, timeoutMs: 5000 },
      { ...base, serverName: 'a b,c=d\te\\', virtualProxy: '/', message: 'quote " back \\ new\nline' },
      { ...base, serverName: '', qpsHost: 'h\t:1' },
    ];
    for (const failure of failures) {
      for (const version of VERSIONS) {
        for (const measurement of ['butler_sos_errors', 'my errors,x']) {
          expect(buildErrorLine(failure, measurement, version)).toBe(
            errorThroughPoint(failure, measurement, version),
          );
        }
      }
    }
  });

  it("write Butler SOS's record", () => {
    expect(buildErrorLine({ ...base, httpStatus: 503 }, 'butler_sos_errors', 2)).toBe(
      'butler_sos_errors,error_type=PROXY_API,host=sense1.lab:4243,server_name=sense1,virtual_proxy=/hdr ' +
        'error_category="timeout",error_count=1i,error_message="no answer within 5000 ms",http_status=503i,' +
        'request_url="https://sense1.lab:4243/qps/hdr/session" 1700000000456000000',
    );
  });
});
