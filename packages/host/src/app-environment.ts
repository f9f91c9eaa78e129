import { writeSync } from 'node:fs';
import {
  type CommonEnv,
  ConfigError,
  type ConfigProblem,
  commonEnvSchema,
  readEnvironment,
} from '@qsm/config';
import type { z } from 'zod';
import type { AppEnvironment } from './app-definition.js';

export type EnvironmentOutcome<S extends z.ZodType> =
  | { ok: true; env: AppEnvironment<S> }
  /** Every problem of both schemas at once, each naming its variable. */
  | { ok: false; error: ConfigError };

/** The common variables and the app's own, read from `source`. */
export function parseAppEnvironment<S extends z.ZodType>(
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): EnvironmentOutcome<S> {
  const problems: ConfigProblem[] = [];
  const parse = <T extends z.ZodType>(s: T): z.output<T> | undefined => {
    try {
      return readEnvironment(s, source);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const common: CommonEnv | undefined = parse(commonEnvSchema);
  const own = parse(schema);
  if (problems.length > 0 || !common) return { ok: false, error: new ConfigError('environment', problems) };
  return { ok: true, env: { ...(own as object), ...common } as AppEnvironment<S> };
}

/** The app's settings from process.env; on a bad value, says which variable and exits 1 at once. */
export function readAppEnvironment<S extends z.ZodType>(schema: S): AppEnvironment<S> {
  const outcome = parseAppEnvironment(schema);
  if (outcome.ok) return outcome.env;
  // Synchronous: the app must not go on with settings it could not read.
  writeSync(2, `${outcome.error.message}\n`);
  process.exit(1);
}
