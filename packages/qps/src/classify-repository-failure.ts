import { classifyTransportFailure } from './classify-failure.js';
import type { QlikHttpFailure } from './qlik-http.js';
import { RepositoryError } from './repository-error.js';
import { ResponseTooLargeError, UndecodableBodyError } from './response-body.js';

/**
 * A request to the repository that got no answer, in the categories of a failed QPS poll (the same
 * classification), with a message that speaks of the repository and of what to check for it.
 */
export function classifyRepositoryTransportFailure(
  failure: QlikHttpFailure,
  url: string,
  limits: { timeoutMs: number; maxResponseBytes: number },
): RepositoryError {
  const classified = classifyTransportFailure(failure.error, url, {
    timeoutMs: limits.timeoutMs,
    timedOut: failure.kind === 'deadline',
    aborted: failure.kind === 'aborted',
    reusedSocket: failure.reusedSocket,
  });
  const { category, code } = classified;
  const details = {
    url,
    ...(code ? { code } : {}),
    retryable: classified.retryable,
    cause: failure.error,
  };
  const fail = (message: string, extra: { timeoutMs?: number } = {}) =>
    new RepositoryError(category, message, { ...details, ...extra });
  const error = failure.error;

  switch (category) {
    case 'timeout':
      return failure.kind === 'deadline'
        ? fail(`no complete answer within ${limits.timeoutMs} ms`, { timeoutMs: limits.timeoutMs })
        : fail(classified.message);
    case 'aborted':
      return fail('the read was cancelled (shutting down)');
    case 'connection_refused':
      return code === 'ECONNREFUSED'
        ? fail(
            'connection refused (ECONNREFUSED): is the Qlik Sense Repository Service running, and is the port right (4242 by default)?',
          )
        : fail(classified.message);
    case 'host_not_found':
      return fail(`host name not found (${code ?? 'unknown'}): check the repository host`);
    case 'invalid_response':
      if (error instanceof ResponseTooLargeError)
        return fail(
          `answer larger than the limit (maxResponseBytes ${limits.maxResponseBytes}): ${error.message}`,
        );
      if (error instanceof UndecodableBodyError) return fail(error.message);
      return fail(classified.message);
    default:
      return fail(classified.message);
  }
}

/** A repository answer other than 200. */
export function classifyRepositoryStatus(
  status: number,
  url: string,
  body: string,
  location: string | undefined,
): RepositoryError {
  const details = { url, httpStatus: status };
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  const said = snippet ? `: ${snippet}` : '';
  if (status >= 300 && status < 400) {
    return new RepositoryError(
      'redirect',
      `answered ${status} with a redirect${location ? ` to ${location}` : ''}: redirects are not followed. ` +
        'Is the port that of the repository API (4242 by default)?',
      details,
    );
  }
  if (status === 401 || status === 403) {
    return new RepositoryError(
      'auth_error',
      `refused the request (${status})${said}. It needs the client certificate exported from this site's QMC and an X-Qlik-User header`,
      details,
    );
  }
  if (status === 404) {
    return new RepositoryError(
      'not_found',
      'answered 404: is the host and port a Qlik Sense Repository Service (4242 by default)?',
      details,
    );
  }
  if (status === 408) return new RepositoryError('timeout', 'answered 408 Request Timeout', details);
  if (status === 429) return new RepositoryError('rate_limited', 'answered 429 Too Many Requests', details);
  if (status >= 500) return new RepositoryError('http_5xx', `failed with ${status}${said}`, details);
  if (status >= 400) return new RepositoryError('http_4xx', `answered ${status}${said}`, details);
  return new RepositoryError('invalid_response', `answered ${status} instead of 200 with a list`, details);
}
