import type { Logger } from '@qsm/logging';

/** One thing the app closes as it stops, named on the log lines about it. */
export interface StopStep {
  name: string;
  run(): Promise<void> | void;
}

export type StopOutcome =
  | { kind: 'done' }
  /** The budget ran out while `step` ran; the steps after it were started but not waited for. */
  | { kind: 'late'; step: string }
  /** These steps threw (each logged); the others ran. */
  | { kind: 'failed'; steps: string[] };

/**
 * Runs the steps in order within one budget: each gets what the steps before it left. A step that
 * throws does not keep the later ones from closing what they own, and one that hangs holds them back
 * only until the budget is spent; after that they are started without being waited for.
 */
export async function runStopSteps(
  steps: readonly StopStep[],
  budgetMs: number,
  logger: Logger,
  now: () => number = Date.now,
): Promise<StopOutcome> {
  const deadline = now() + budgetMs;
  const failed: string[] = [];
  let late: string | undefined;
  for (const step of steps) {
    const started = now();
    const running = Promise.resolve()
      .then(() => step.run())
      .then(
        () => 'done' as const,
        (error: unknown) => {
          logger.error({ err: error, step: step.name }, 'error while shutting down');
          failed.push(step.name);
          return 'failed' as const;
        },
      );
    const remaining = deadline - started;
    if (late !== undefined || remaining <= 0) {
      late ??= step.name;
      logger.debug({ step: step.name }, 'stop step started after the deadline, not waited for');
      continue;
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      running,
      new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), remaining);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'late') late = step.name;
    else logger.debug({ step: step.name, ms: now() - started }, 'stop step finished');
  }
  if (late !== undefined) return { kind: 'late', step: late };
  return failed.length > 0 ? { kind: 'failed', steps: failed } : { kind: 'done' };
}

export interface AppStopSettings {
  logger: Logger;
  /** SHUTDOWN_TIMEOUT_MS: all steps together. */
  timeoutMs: number;
  /** Read when the stop begins: what the app holds then, in the order it is closed. */
  steps(): readonly StopStep[];
  exit(code: number): void;
}

export interface AppStop {
  /** Stops once, however often it is called; ends the process (0, or 1 when a step failed). */
  stop(reason: string): Promise<void>;
  readonly stopping: boolean;
}

/** The app's bounded shutdown: stop taking work, let the work in flight finish, close, exit. */
export function createAppStop(settings: AppStopSettings): AppStop {
  const { logger, timeoutMs } = settings;
  let stopping: Promise<void> | undefined;
  return {
    get stopping() {
      return stopping !== undefined;
    },
    stop(reason) {
      if (stopping) return stopping;
      logger.info({ reason, deadlineMs: timeoutMs }, 'shutting down');
      stopping = Promise.resolve()
        .then(() => runStopSteps(settings.steps(), timeoutMs, logger))
        .then(
          (outcome) => {
            if (outcome.kind === 'late') {
              logger.warn({ deadlineMs: timeoutMs, step: outcome.step }, 'shutdown deadline passed, exiting');
              settings.exit(0);
            } else if (outcome.kind === 'failed') {
              settings.exit(1);
            } else {
              logger.info('stopped');
              settings.exit(0);
            }
          },
          (error: unknown) => {
            logger.error({ err: error }, 'error while shutting down');
            settings.exit(1);
          },
        );
      return stopping;
    },
  };
}
