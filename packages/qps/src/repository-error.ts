import { isRetryableCategory, type QpsErrorCategory } from './qps-error.js';

export interface RepositoryErrorDetails {
  /** Request URL without its query string (the Xrfkey is not worth logging). */
  url: string;
  httpStatus?: number;
  /** Node/OpenSSL error code, e.g. ECONNREFUSED. */
  code?: string;
  timeoutMs?: number;
  /** Overrides the category's default when one failure of a category can pass and another cannot. */
  retryable?: boolean;
  cause?: unknown;
}

/**
 * A failed read of the Qlik repository (QRS), in the categories of a failed QPS poll. Its message
 * starts with `Qlik repository <url>:` so that a log line says which service failed.
 */
export class RepositoryError extends Error {
  override readonly name = 'RepositoryError';
  readonly retryable: boolean;
  readonly url: string;
  readonly httpStatus: number | undefined;
  readonly code: string | undefined;
  readonly timeoutMs: number | undefined;

  constructor(
    readonly category: QpsErrorCategory,
    message: string,
    details: RepositoryErrorDetails,
  ) {
    super(
      details.url ? `Qlik repository ${details.url}: ${message}` : `Qlik repository: ${message}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.retryable = details.retryable ?? isRetryableCategory(category);
    this.url = details.url;
    this.httpStatus = details.httpStatus;
    this.code = details.code;
    this.timeoutMs = details.timeoutMs;
  }
}

export function isRepositoryError(error: unknown): error is RepositoryError {
  return error instanceof RepositoryError;
}
