import { describe, expect, it } from 'vitest';
import { sessionIdentity, sessionProblem } from './session.js';

describe('sessionIdentity', () => {
  it("reads QPS's PascalCase names", () => {
    expect(sessionIdentity({ UserDirectory: 'LAB', UserId: 'anna', SessionId: 's1' })).toEqual({
      directory: 'LAB',
      userId: 'anna',
      sessionId: 's1',
    });
  });

  it("reads the OpenAPI's camelCase names, and any other case", () => {
    const expected = { directory: 'LAB', userId: 'anna', sessionId: 's1' };
    expect(sessionIdentity({ userDirectory: 'LAB', userId: 'anna', sessionId: 's1' })).toEqual(expected);
    expect(sessionIdentity({ USERDIRECTORY: 'LAB', userid: 'anna', SessionID: 's1' })).toEqual(expected);
  });

  it('prefers the PascalCase name when a session has two spellings of a field', () => {
    const session = { userId: 'camel', UserId: 'pascal', UserDirectory: 'LAB', SessionId: 's1' };
    expect(sessionIdentity(session)?.userId).toBe('pascal');
  });

  it('has none when a field is missing or not a string', () => {
    expect(sessionIdentity({ UserDirectory: 'LAB', UserId: 'anna' })).toBeUndefined();
    expect(sessionIdentity({ UserDirectory: 'LAB', UserId: 7, SessionId: 's1' })).toBeUndefined();
    expect(
      sessionIdentity({ UserDirectory: 'LAB', UserId: null, userId: 'anna', SessionId: 's1' }),
    ).toBeUndefined();
  });
});

describe('sessionProblem', () => {
  it('finds nothing wrong with a session as QPS serves it, in either case, with any other fields', () => {
    expect(
      sessionProblem({ UserDirectory: 'L', UserId: 'u', SessionId: 's', Attributes: [{ a: 'b' }] }),
    ).toBe(undefined);
    expect(sessionProblem({ userDirectory: 'L', userId: 'u', sessionId: 's', attributes: null, x: {} })).toBe(
      undefined,
    );
  });

  it.each([
    [[], 'must be an object, got a list'],
    [{ UserDirectory: 'L', UserId: 'u' }, 'SessionId must be a string, got nothing'],
    [{ userDirectory: 'L', userId: false, sessionId: 's' }, 'UserId must be a string, got boolean false'],
    [{ UserDirectory: 'L', UserId: 'u', SessionId: 's', attributes: 'x' }, 'attributes must be a list'],
    [
      { UserDirectory: 'L', UserId: 'u', SessionId: 's', UserName: 1 },
      'UserName must be a string, got number 1',
    ],
  ])('names what is wrong with %j', (session, problem) => {
    expect(sessionProblem(session)).toContain(problem);
  });
});
