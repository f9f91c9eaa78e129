import { describe, expect, it } from 'vitest';
import { InvalidSessionListError, parseSessions } from './parse-sessions.js';

describe('parseSessions', () => {
  it('accepts an empty array as "nobody connected"', () => {
    expect(parseSessions('[]')).toEqual([]);
  });

  it('keeps every session as served, including attributes and unknown fields', () => {
    const body = JSON.stringify([
      { UserDirectory: 'LAB', UserId: 'anna', Attributes: [{ Group: 'Sales' }], SessionId: 's1', Extra: 1 },
    ]);
    expect(parseSessions(body)).toEqual([
      { UserDirectory: 'LAB', UserId: 'anna', Attributes: [{ Group: 'Sales' }], SessionId: 's1', Extra: 1 },
    ]);
  });

  it('skips the UTF-8 byte order mark that .NET servers put before the JSON', () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('[{"UserDirectory":"LAB","UserId":"anna","SessionId":"s1"}]'),
    ]).toString('utf8');
    expect(parseSessions(body)).toEqual([{ UserDirectory: 'LAB', UserId: 'anna', SessionId: 's1' }]);
  });

  it("accepts Qlik's camelCase rendering and keeps its names as served (MQTT publishes them so)", () => {
    const served = [
      { userDirectory: 'LAB', userId: 'goran', sessionId: 's2', userName: 'Göran', attributes: [] },
    ];
    expect(parseSessions(JSON.stringify(served))).toEqual(served);
  });

  it('keeps null attributes, attributes of any shape and null user names as served', () => {
    const served = [
      { UserDirectory: 'LAB', UserId: 'a', SessionId: 's1', Attributes: null, UserName: null },
      {
        UserDirectory: 'LAB',
        UserId: 'b',
        SessionId: 's2',
        Attributes: ['Group=Sales', null, { Email: '' }],
      },
    ];
    expect(parseSessions(JSON.stringify(served))).toEqual(served);
  });

  it.each([
    ['an HTML login page', '<!DOCTYPE html><html></html>', /HTML page/],
    ['a JSON object', '{"sessions":[]}', /expected a JSON array of sessions, got an object/],
    ['truncated JSON', '[{"UserDirectory":"LAB","Us', /not valid JSON \(truncated\?\)/],
    ['an empty body', '', /not valid JSON/],
    [
      'a session without SessionId',
      '[{"UserDirectory":"LAB","UserId":"a"}]',
      /session \[0\]: SessionId must be a string, got nothing/,
    ],
    [
      'a number as UserId',
      '[{"UserDirectory":"LAB","UserId":7,"SessionId":"x"}]',
      /UserId must be a string, got number 7/,
    ],
    ['a list item that is not an object', '[1]', /session \[0\]: must be an object, got number 1/],
    [
      'a camelCase session without sessionId',
      '[{"userDirectory":"LAB","userId":"a"}]',
      /session \[0\]: SessionId must be a string, got nothing/,
    ],
    [
      'Attributes that are not a list',
      '[{"UserDirectory":"L","UserId":"u","SessionId":"s","Attributes":"x"}]',
      /Attributes must be a list/,
    ],
  ])('rejects %s', (_name, body, message) => {
    expect(() => parseSessions(body)).toThrow(InvalidSessionListError);
    expect(() => parseSessions(body)).toThrow(message);
  });
});
