/**
 * Why InfluxDB did not take a write.
 * - `unavailable`: not reachable, timed out, 5xx, 429, auth refused, database missing: the same write can
 *   succeed later, so the jobs are retried.
 * - `rejected`: InfluxDB answered 400/413/422 for this data (parse error, field type conflict, a limit):
 *   the same write fails again. `partial` when InfluxDB kept the other points of the write.
 */
export class InfluxWriteError extends Error {
  override readonly name = 'InfluxWriteError';
  constructor(
    readonly kind: 'unavailable' | 'rejected',
    message: string,
    readonly details: { status?: number; partial?: boolean; dropped?: number } = {},
  ) {
    super(message);
  }
}

/** `{"error":"partial write: ... dropped=3"}` -> its message, whether it was partial and how many were dropped. */
export function parseInfluxError(body: unknown): {
  message: string;
  partial: boolean;
  dropped: number | undefined;
} {
  let message = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { error?: string; message?: string };
      message = parsed.error ?? parsed.message ?? body;
    } catch {
      // not JSON: keep the text
    }
  } else if (body && typeof body === 'object') {
    const object = body as { error?: string; message?: string };
    message = object.error ?? object.message ?? message;
  }
  const dropped = /dropped=(\d+)/.exec(message);
  return {
    message: message.trim(),
    partial: /partial write/i.test(message),
    dropped: dropped ? Number(dropped[1]) : undefined,
  };
}
