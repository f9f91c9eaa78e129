import { formatPath } from '@qsm/model';
import type { z } from 'zod';
import type { ConfigProblem } from './config-error.js';

/** Zod issue -> a short sentence a Qlik administrator understands. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  // Messages written in our schemas win over the generic ones derived from the issue code.
  if (issue.code !== 'custom' && !ZOD_DEFAULT_MESSAGE.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'required';
      const expected = issue.expected === 'int' ? 'an integer' : article(issue.expected);
      return `must be ${expected} (got ${describeValue(issue.input)})`;
    }
    case 'too_small':
      if (issue.origin === 'array')
        return `must have at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be >= ${issue.minimum} (got ${describeValue(issue.input)})`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be <= ${issue.maximum} (got ${describeValue(issue.input)})`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${describeValue(issue.input)})`;
    case 'invalid_format':
      return issue.message;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized|Expected)/;

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return value.length > 60 ? `"${value.slice(0, 57)}..."` : JSON.stringify(value);
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/**
 * Parses `value` with `schema`; on failure records every issue, prefixed with `path`, and returns undefined.
 * Sections are validated one by one so that a broken section never hides the problems of another.
 */
export function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  path: ReadonlyArray<PropertyKey>,
  problems: ConfigProblem[],
): z.output<S> | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    problems.push({ path: formatPath([...path, ...issue.path]), message: describeIssue(issue) });
  }
  return undefined;
}
