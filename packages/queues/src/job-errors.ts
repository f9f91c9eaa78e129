import { UnrecoverableError } from 'bullmq';

/**
 * A job that must not be tried again: the input is wrong or the destination refuses it for good.
 * BullMQ skips the remaining attempts; Bull Board shows the message with its category.
 */
export class PermanentJobError extends UnrecoverableError {
  constructor(
    readonly category: string,
    message: string,
  ) {
    super(`${category}: ${message}`);
  }
}

/** A job that failed for a reason that can pass (destination down, timeout): BullMQ retries it with backoff. */
export class RetryableJobError extends Error {
  override readonly name = 'RetryableJobError';
  constructor(
    readonly category: string,
    message: string,
  ) {
    super(`${category}: ${message}`);
  }
}

export { UnrecoverableError };
