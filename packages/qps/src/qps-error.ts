/**
 * Why a poll failed, in Butler SOS's error categories (`src/lib/error-categorizer.js`) plus
 * `invalid_response` and `redirect`, which Butler SOS cannot tell apart because it never checks the body.
 */
export type QpsErrorCategory =
  | 'timeout'
  | 'connection_refused'
  | 'host_not_found'
  | 'connection_reset'
  | 'certificate_error'
  | 'auth_error'
  | 'not_found'
  | 'rate_limited'
  | 'http_4xx'
  | 'http_5xx'
  | 'redirect'
  | 'invalid_response'
  | 'aborted'
  | 'unknown';

/** Categories where trying again cannot help until someone changes the config or the Qlik side. */
const PERMANENT: ReadonlySet<QpsErrorCategory> = new Set([
  'certificate_error',
  'auth_error',
  'not_found',
  'http_4xx',
  'redirect',
]);

/** Whether a failure of this category can pass by itself (QPS polls and repository reads alike). */
export function isRetryableCategory(category: QpsErrorCategory): boolean {
  return !PERMANENT.has(category);
}

export interface QpsErrorDetails {
  /** Request URL without its query string (the Xrfkey is not worth logging). */
  url: string;
  httpStatus?: number;
  /** Node/OpenSSL error code, e.g. ECONNREFUSED or ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED. */
  code?: string;
  syscall?: string;
  remoteAddress?: string;
  remotePort?: number;
  timeoutMs?: number;
  /** Overrides the category's default when one failure of a category can pass and another cannot. */
  retryable?: boolean;
  cause?: unknown;
}

/** A failed QPS request. `retryable` tells whether trying again (later) can succeed. */
export class QpsError extends Error {
  override readonly name = 'QpsError';
  readonly retryable: boolean;
  readonly url: string;
  readonly httpStatus: number | undefined;
  readonly code: string | undefined;
  readonly syscall: string | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly timeoutMs: number | undefined;

  constructor(
    readonly category: QpsErrorCategory,
    message: string,
    details: QpsErrorDetails,
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.retryable = details.retryable ?? isRetryableCategory(category);
    this.url = details.url;
    this.httpStatus = details.httpStatus;
    this.code = details.code;
    this.syscall = details.syscall;
    this.remoteAddress = details.remoteAddress;
    this.remotePort = details.remotePort;
    this.timeoutMs = details.timeoutMs;
  }
}

export function isQpsError(error: unknown): error is QpsError {
  return error instanceof QpsError;
}
