import { QpsError, type QpsErrorCategory, type QpsErrorDetails } from './qps-error.js';
import { ResponseTooLargeError, UndecodableBodyError } from './response-body.js';

interface NodeLikeError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  cause?: unknown;
}

const TLS_CODE =
  /^(ERR_SSL_|ERR_TLS_|ERR_OSSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH|EPROTO)/;

/** Maps a transport-level failure (no HTTP status) to a category and a message that says what to check. */
export function classifyTransportFailure(
  error: unknown,
  url: string,
  context: {
    timeoutMs: number;
    timedOut: boolean;
    aborted: boolean;
    /** The request went out on a kept-alive connection of an earlier one. */
    reusedSocket?: boolean;
  },
): QpsError {
  const e = (error ?? {}) as NodeLikeError;
  const code = innermostCode(e);
  const details: QpsErrorDetails = {
    url,
    ...(code ? { code } : {}),
    ...(e.syscall ? { syscall: e.syscall } : {}),
    ...(e.address ? { remoteAddress: e.address } : {}),
    ...(e.port ? { remotePort: e.port } : {}),
    cause: error,
  };
  const fail = (category: QpsErrorCategory, message: string) => new QpsError(category, message, details);

  if (context.timedOut) {
    return fail('timeout', `no complete answer within ${context.timeoutMs} ms`);
  }
  if (context.aborted) return fail('aborted', 'the poll was cancelled (shutting down)');
  switch (code) {
    case 'ECONNREFUSED':
      return fail(
        'connection_refused',
        `connection refused by ${e.address ?? 'the host'}:${e.port ?? ''}: is QPS running and the port right?`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return fail('host_not_found', `host name not found (${code}): check userSessions.host`);
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return fail('timeout', `connection timed out (${code})`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fail('connection_refused', `host unreachable (${code})`);
  }
  if (code && TLS_CODE.test(code)) {
    return fail('certificate_error', `TLS failed (${code}): ${e.message}. ${tlsHint(code)}`);
  }
  if (error instanceof ResponseTooLargeError) {
    return new QpsError(
      'invalid_response',
      `response larger than the limit (QPS_MAX_RESPONSE_BYTES): ${e.message}`,
      {
        ...details,
        retryable: false,
      },
    );
  }
  if (error instanceof UndecodableBodyError) {
    return new QpsError('invalid_response', `QPS answered, but ${error.message}`, {
      ...details,
      retryable: error.retryable,
    });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(e.message)) {
    if (context.reusedSocket) {
      return fail(
        'connection_reset',
        `the server closed a kept-alive connection (${code ?? 'socket hang up'})`,
      );
    }
    // QPS on 4243 closes a fresh connection when it does not accept the client certificate.
    return fail(
      'certificate_error',
      `the server closed a new connection during the TLS handshake (${code ?? 'socket hang up'}): it most likely rejected the client certificate (not signed by its CA, or none sent)`,
    );
  }
  return fail('unknown', e.message || String(error));
}

function innermostCode(e: NodeLikeError): string | undefined {
  let current: NodeLikeError | undefined = e;
  let code: string | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.code && current.code !== 'ERR_BAD_RESPONSE' && current.code !== 'ERR_BAD_REQUEST')
      code = current.code;
    current = current.cause as NodeLikeError | undefined;
  }
  return code ?? e.code;
}

function tlsHint(code: string): string {
  if (/CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA/.test(code))
    return 'The server rejected the client certificate: use client.pem/client_key.pem exported from this Qlik site.';
  if (/SELF_SIGNED|UNABLE_TO|DEPTH_ZERO/.test(code))
    return 'The server certificate does not chain to root.pem: check cert.clientCertCA, or set rejectUnauthorized: false.';
  if (/ALTNAME|HOSTNAME/.test(code))
    return 'The server certificate is not issued for this host name: use the name Qlik issued it for, or rejectUnauthorized: false.';
  if (/BAD_DECRYPT/.test(code)) return 'The client key cannot be decrypted: check cert.clientCertPassphrase.';
  return 'Check the certificate files and rejectUnauthorized.';
}

/** The category of an answer other than 200, the same for QPS and the repository. */
export function httpStatusCategory(status: number): QpsErrorCategory {
  if (status >= 300 && status < 400) return 'redirect';
  if (status === 401 || status === 403) return 'auth_error';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  return 'invalid_response';
}

/** `: <the body's start>` for a message, or nothing when the body is blank. */
export function bodySnippet(body: string): string {
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return snippet ? `: ${snippet}` : '';
}

/** Maps a non-200 HTTP answer to a category. */
export function classifyHttpStatus(
  status: number,
  url: string,
  qpsHost: string,
  virtualProxy: string,
  body: string,
  location: string | undefined,
): QpsError {
  const category = httpStatusCategory(status);
  const said = bodySnippet(body);
  const message = (): string => {
    switch (category) {
      case 'redirect':
        return (
          `QPS answered ${status} with a redirect${location ? ` to ${location}` : ''}: redirects are not followed. ` +
          `The port in userSessions.host (${qpsHost}) is probably wrong: the QPS API listens on 4243 by default`
        );
      case 'auth_error':
        return `QPS refused the request (${status})${said}`;
      case 'not_found':
        return `QPS has no virtual proxy "${virtualProxy}" (404): check the prefix in userSessions.virtualProxies`;
      case 'timeout':
        return 'QPS answered 408 Request Timeout';
      case 'rate_limited':
        return 'QPS answered 429 Too Many Requests';
      case 'http_5xx':
        return `QPS failed with ${status}${said}`;
      case 'http_4xx':
        return `QPS answered ${status}${said}`;
      default:
        return `QPS answered ${status} instead of 200 with a session list`;
    }
  };
  return new QpsError(category, message(), { url, httpStatus: status });
}
