/** One proxy session as QPS lists it (PascalCase on the wire; Qlik's OpenAPI renders camelCase). */
export interface QpsSession {
  UserDirectory: string;
  UserId: string;
  SessionId: string;
  Attributes?: Array<Record<string, unknown>>;
  UserName?: string;
  /** Fields this product does not know are passed on untouched (MQTT carries them). */
  [field: string]: unknown;
}

const KNOWN = ['UserDirectory', 'UserId', 'SessionId', 'Attributes', 'UserName'] as const;
const BY_LOWER = new Map<string, (typeof KNOWN)[number]>(KNOWN.map((k) => [k.toLowerCase(), k]));

/**
 * Thrown by parseSessions; the QPS client turns it into an `invalid_response` QpsError. `retryable` is
 * false when the same request will get the same answer (a login page, an object): the URL is wrong.
 */
export class InvalidSessionListError extends Error {
  override readonly name = 'InvalidSessionListError';
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * The body of `GET /qps/<vp>/session` must be a JSON array of sessions. Anything else (a login page,
 * an object, a truncated body) is an error, never a list of zero sessions.
 */
export function parseSessions(text: string): QpsSession[] {
  // .NET writes UTF-8 with a byte order mark unless told not to; JSON.parse does not skip it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const start = body.trimStart();
  if (start.startsWith('<')) {
    throw new InvalidSessionListError(
      'got an HTML page instead of JSON: is userSessions.host the QPS API port (4243), not the hub or login page?',
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    // A body cut short can be a passing network fault: worth another try.
    throw new InvalidSessionListError(
      `body is not valid JSON (truncated?): ${(error as Error).message} (${body.length} characters)`,
      true,
    );
  }
  if (!Array.isArray(data)) {
    throw new InvalidSessionListError(`expected a JSON array of sessions, got ${describe(data)}`);
  }
  const sessions: QpsSession[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) sessions[i] = toSession(data[i], i);
  return sessions;
}

function toSession(item: unknown, index: number): QpsSession {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new InvalidSessionListError(`session [${index}] must be an object, got ${describe(item)}`);
  }
  // QPS answers in PascalCase: then the object is used as it is (thousands of sessions per second).
  const pascal = item as Record<string, unknown>;
  const session: Record<string, unknown> =
    typeof pascal.UserDirectory === 'string' &&
    typeof pascal.UserId === 'string' &&
    typeof pascal.SessionId === 'string'
      ? pascal
      : renameKnownFields(pascal);
  for (const field of ['UserDirectory', 'UserId', 'SessionId'] as const) {
    if (typeof session[field] !== 'string') {
      throw new InvalidSessionListError(
        `session [${index}]: ${field} must be a string, got ${describe(session[field])}`,
      );
    }
  }
  if (session.Attributes === null) delete session.Attributes;
  else if (session.Attributes !== undefined && !Array.isArray(session.Attributes)) {
    throw new InvalidSessionListError(
      `session [${index}]: Attributes must be a list, got ${describe(session.Attributes)}`,
    );
  }
  if (session.UserName !== undefined && session.UserName !== null && typeof session.UserName !== 'string') {
    throw new InvalidSessionListError(
      `session [${index}]: UserName must be a string, got ${describe(session.UserName)}`,
    );
  }
  return session as QpsSession;
}

function renameKnownFields(item: Record<string, unknown>): Record<string, unknown> {
  const session: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) session[BY_LOWER.get(key.toLowerCase()) ?? key] = value;
  return session;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`;
  return `${typeof value} ${String(value)}`;
}
