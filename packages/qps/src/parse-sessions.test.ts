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

  it("reads Qlik's camelCase rendering as the PascalCase names", () => {
    const body = JSON.stringify([
      { userDirectory: 'LAB', userId: 'goran', sessionId: 's2', userName: 'Göran' },
    ]);
    expect(parseSessions(body)).toEqual([
      { UserDirectory: 'LAB', UserId: 'goran', SessionId: 's2', UserName: 'Göran' },
    ]);
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
    ['a list item that is not an object', '[1]', /session \[0\] must be an object/],
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
