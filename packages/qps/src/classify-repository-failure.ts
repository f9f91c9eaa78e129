import { bodySnippet, classifyTransportFailure, httpStatusCategory } from './classify-failure.js';
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
  const category = httpStatusCategory(status);
  const said = bodySnippet(body);
  const message = (): string => {
    switch (category) {
      case 'redirect':
        return (
          `answered ${status} with a redirect${location ? ` to ${location}` : ''}: redirects are not followed. ` +
          'Is the port that of the repository API (4242 by default)?'
        );
      case 'auth_error':
        return `refused the request (${status})${said}. It needs the client certificate exported from this site's QMC and an X-Qlik-User header`;
      case 'not_found':
        return 'answered 404: is the host and port a Qlik Sense Repository Service (4242 by default)?';
      case 'timeout':
        return 'answered 408 Request Timeout';
      case 'rate_limited':
        return 'answered 429 Too Many Requests';
      case 'http_5xx':
        return `failed with ${status}${said}`;
      case 'http_4xx':
        return `answered ${status}${said}`;
      default:
        return `answered ${status} instead of 200 with a list`;
    }
  };
  return new RepositoryError(category, message(), { url, httpStatus: status });
}
