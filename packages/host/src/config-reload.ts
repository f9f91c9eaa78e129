import {
  ConfigError,
  formatProblem,
  type LoadedConfig,
  type LoadOptions,
  loadConfigFile,
  type QueueShard,
  settingsForQueueShard,
} from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { logConfigWarnings } from './config-problems.js';
import type { RunningRole } from './role.js';
import { watchConfigFile } from './watch-file.js';

export interface ConfigReloaderSettings {
  file: string;
  checkCertificates: boolean;
  /** QUEUE_SHARD: the roles get only this shard's servers, as at start. */
  queueShard?: QueueShard;
  logger: Logger;
  /** Read at each reload: the roles running then get the new settings. */
  roles: () => readonly RunningRole[];
  /** For tests; the config package's loader by default. */
  load?: (file: string, options: LoadOptions) => LoadedConfig;
}

export interface ConfigReloader {
  /** Reads the file again and hands a valid config to every role; an invalid one changes nothing. */
  reload(reason: string): Promise<void>;
  /** The app is stopping: later reloads do nothing. */
  close(): void;
}

/**
 * Config reloads, one at a time: a reload asked for while one runs waits for it, and all that are asked
 * for meanwhile are one reload (it reads the file when it begins, so it sees the latest change). Roles
 * never get two configs at once, nor an older one after a newer.
 */
export function createConfigReloader(settings: ConfigReloaderSettings): ConfigReloader {
  const { file, logger } = settings;
  const load = settings.load ?? loadConfigFile;
  let closed = false;
  let tail: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;

  const reloadNow = async (reason: string) => {
    let loaded: LoadedConfig;
    try {
      loaded = load(file, { checkCertificates: settings.checkCertificates });
    } catch (error) {
      if (error instanceof ConfigError) {
        for (const problem of error.problems) logger.error({ path: problem.path }, formatProblem(problem));
        logger.error(
          `config change rejected (${error.problems.length} problem(s)): keeping the running config`,
        );
      } else {
        logger.error({ err: error, reason }, 'config reload failed: keeping the running config');
      }
      return;
    }
    logConfigWarnings(logger, loaded.warnings);
    logger.info({ reason }, 'config reloaded');
    const shardSettings = settingsForQueueShard(loaded.settings, settings.queueShard);
    for (const role of settings.roles()) {
      try {
        await role.applySettings(shardSettings);
      } catch (error) {
        logger.error({ err: error, reason, role: role.name }, 'config reload failed in a role');
      }
    }
  };

  return {
    reload(reason) {
      if (waiting) return waiting;
      const next = tail.then(() => {
        waiting = undefined;
        if (!closed) return reloadNow(reason);
        logger.debug({ reason }, 'config reload skipped: the app is stopping');
      });
      waiting = next;
      tail = next;
      return next;
    },
    close() {
      closed = true;
    },
  };
}

/**
 * Reloads when the file changes and on SIGHUP. Returns what stops watching the file; the SIGHUP handler
 * stays, as SIGHUP's default action would end the process during its shutdown.
 */
export function reloadOnChangeAndSighup(
  file: string,
  reloader: ConfigReloader,
  watch: typeof watchConfigFile = watchConfigFile,
): () => void {
  const stopWatching = watch(file, () => void reloader.reload('file changed'));
  process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
  return stopWatching;
}
