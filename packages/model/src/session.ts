/** One proxy session as QPS served it: every field kept, in the case QPS wrote its name in. */
export type QpsSession = Record<string, unknown>;

/** Whose session it is: what InfluxDB's points and the blacklist read from a session. */
export interface SessionIdentity {
  directory: string;
  userId: string;
  sessionId: string;
}

/**
 * QPS names the fields in PascalCase (`UserDirectory`, `UserId`, `SessionId`); Qlik's OpenAPI renders them
 * in camelCase, and look-alikes follow either. A session is read in whichever case it came, so that it can
 * travel to MQTT exactly as served. Undefined when a field is missing or not a string.
 */
export function sessionIdentity(session: QpsSession): SessionIdentity | undefined {
  if (hasPascalIdentity(session)) {
    return { directory: session.UserDirectory, userId: session.UserId, sessionId: session.SessionId };
  }
  const directory = fieldValue(session, 'UserDirectory');
  const userId = fieldValue(session, 'UserId');
  const sessionId = fieldValue(session, 'SessionId');
  if (typeof directory !== 'string' || typeof userId !== 'string' || typeof sessionId !== 'string') return;
  return { directory, userId, sessionId };
}

/**
 * What is wrong with a session as QPS served it, as one sentence, or undefined when it can be written: an
 * object with the three identity fields as strings, `Attributes` a list (or null), `UserName` a string (or
 * null), in PascalCase or camelCase. Other fields are passed on unread.
 */
export function sessionProblem(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return `must be an object, got ${describeValue(item)}`;
  }
  const session = item as QpsSession;
  if (!hasPascalIdentity(session) && sessionIdentity(session) === undefined) {
    for (const field of ['UserDirectory', 'UserId', 'SessionId']) {
      const value = fieldValue(session, field);
      if (typeof value !== 'string') return `${field} must be a string, got ${describeValue(value)}`;
    }
  }
  for (const name of ['Attributes', 'attributes']) {
    const value = session[name];
    if (value !== undefined && value !== null && !Array.isArray(value)) {
      return `${name} must be a list, got ${describeValue(value)}`;
    }
  }
  for (const name of ['UserName', 'userName']) {
    const value = session[name];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      return `${name} must be a string, got ${describeValue(value)}`;
    }
  }
  return undefined;
}

/** QPS's own spelling, checked without a search: thousands of sessions per second pass here. */
function hasPascalIdentity(
  session: QpsSession,
): session is QpsSession & { UserDirectory: string; UserId: string; SessionId: string } {
  return (
    typeof session.UserDirectory === 'string' &&
    typeof session.UserId === 'string' &&
    typeof session.SessionId === 'string'
  );
}

/** The value of `field` under its PascalCase name, or else under the first name that differs only in case. */
function fieldValue(session: QpsSession, field: string): unknown {
  if (Object.hasOwn(session, field)) return session[field];
  const lower = field.toLowerCase();
  const key = Object.keys(session).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : session[key];
}

/** A value as an error message names it: its kind, and the start of a string. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`;
  return `${typeof value} ${String(value)}`;
}
