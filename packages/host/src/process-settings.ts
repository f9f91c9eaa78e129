import type { CommonEnv } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { applyProcessNice } from './process-priority.js';

export interface ProcessSettings {
  /** V8's old-generation growth (0: V8's own). */
  heapGrowingPercent: number;
  nice: number;
}

/** The environment wins over what the app declares; unset in both means the runtime's own. */
export function processSettings(
  env: Pick<CommonEnv, 'HEAP_GROWING_PERCENT' | 'PROCESS_NICE'>,
  defaults: { defaultHeapGrowingPercent?: number; defaultNice?: number },
): ProcessSettings {
  return {
    heapGrowingPercent: env.HEAP_GROWING_PERCENT ?? defaults.defaultHeapGrowingPercent ?? 0,
    nice: env.PROCESS_NICE ?? defaults.defaultNice ?? 0,
  };
}

/** Sets the niceness; a refusal is a warning, and the app runs on at the priority it has. */
export function applyNiceOrWarn(nice: number, logger: Logger): void {
  const priority = applyProcessNice(nice);
  if (!priority.applied) {
    logger.warn(
      { nice: priority.nice, current: priority.current, reason: priority.reason },
      'cannot change the process priority (raising it needs CAP_SYS_NICE); running at the current one',
    );
  }
}
