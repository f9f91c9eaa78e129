/** One thing wrong with a config file or the environment, at an exact path. */
export interface ConfigProblem {
  /** `Butler-SOS.serversToMonitor.servers[1].userSessions.host`, or `env.REDIS_URL`. */
  path: string;
  message: string;
}

/** Thrown when settings cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
  }
}

export function formatProblem(problem: ConfigProblem): string {
  return problem.path ? `${problem.path}: ${problem.message}` : problem.message;
}

/** `['Butler-SOS', 'servers', 1, 'host']` -> `Butler-SOS.servers[1].host`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}
