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
