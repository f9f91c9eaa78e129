import {
  ConfigError,
  configFilePath,
  formatProblem,
  loadConfigFile,
  type QueueShard,
  type Settings,
  settingsForQueueShard,
} from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { logConfigWarnings } from './config-problems.js';

export type StartConfig =
  /** The app needs no config file (the board). */
  | { kind: 'none' }
  | { kind: 'loaded'; file: string; settings: Settings }
  /** Its problems are logged; the app must not start. */
  | { kind: 'invalid' };

export interface StartConfigSettings {
  config: 'required' | 'none';
  checkCertificates: boolean;
  /** QUEUE_SHARD: the roles see only this shard's servers. */
  queueShard?: QueueShard;
  logger: Logger;
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** The config file the app starts with (--config or CONFIG_FILE), its warnings and problems logged. */
export function loadStartConfig(settings: StartConfigSettings): StartConfig {
  if (settings.config === 'none') return { kind: 'none' };
  const { logger } = settings;
  try {
    const file = configFilePath(settings.argv ?? process.argv.slice(2), settings.env ?? process.env);
    const loaded = loadConfigFile(file, { checkCertificates: settings.checkCertificates });
    logConfigWarnings(logger, loaded.warnings);
    return { kind: 'loaded', file, settings: settingsForQueueShard(loaded.settings, settings.queueShard) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) {
      logger.error({ path: problem.path, source: error.source }, formatProblem(problem));
    }
    logger.fatal(`${error.problems.length} config problem(s) in ${error.source}: not starting`);
    return { kind: 'invalid' };
  }
}
