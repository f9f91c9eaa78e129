import type { z } from 'zod';
import { formatIssues } from './issues.js';

export type StoredJson<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * JSON text this product keeps in Redis, read back and checked against `schema`: the value, or one
 * sentence saying what is wrong with it (another release's, or edited by hand).
 */
export function parseStoredJson<T>(schema: z.ZodType<T>, text: string): StoredJson<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: `not JSON: ${JSON.stringify(text.slice(0, 60))}` };
  }
  const parsed = schema.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, problem: formatIssues(parsed.error.issues) };
}
