import { describeValue, type QpsSession, sessionProblem } from '@qsm/model';

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
    throw new InvalidSessionListError(`expected a JSON array of sessions, got ${describeValue(data)}`);
  }
  for (let i = 0; i < data.length; i++) {
    const problem = sessionProblem(data[i]);
    if (problem) throw new InvalidSessionListError(`session [${i}]: ${problem}`);
  }
  // Kept exactly as served (field names in their case, unknown fields, nulls): MQTT publishes them so.
  return data as QpsSession[];
}
