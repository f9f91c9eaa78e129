import { type ConfigProblem, formatProblem } from '@qsm/config';
import type { Logger } from '@qsm/logging';

/** What the config file does that works but is likely not meant: one warning each. */
export function logConfigWarnings(logger: Logger, warnings: readonly ConfigProblem[]): void {
  for (const warning of warnings) logger.warn({ path: warning.path }, formatProblem(warning));
}
