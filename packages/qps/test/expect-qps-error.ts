import { expect } from 'vitest';
import { QpsError } from '../src/index.js';

/** The QpsError that `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<QpsError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QpsError);
  return error as QpsError;
}
