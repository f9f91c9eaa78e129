import type { Settings } from '@qsm/config';
import type { z } from 'zod';
import type { AppDefinition, AppEnvironment } from './app-definition.js';
import type { ProcessContext, RoleContext, RunningRole } from './role.js';

/** Starts the app's roles with the context its kind of app gets: the config's settings, or none. */
export function startRoles<S extends z.ZodType>(
  definition: AppDefinition<S>,
  base: ProcessContext,
  settings: Settings | undefined,
  env: AppEnvironment<S>,
): Promise<RunningRole[]> {
  if (definition.config === 'none') return definition.start(base, env);
  if (!settings) throw new Error(`${definition.role} works from a config file, and none was loaded`);
  return definition.start({ ...base, settings } satisfies RoleContext, env);
}
