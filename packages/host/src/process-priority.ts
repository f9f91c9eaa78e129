import { getPriority, setPriority } from 'node:os';

export type PriorityOutcome =
  | { applied: true; nice: number }
  | { applied: false; nice: number; current: number; reason: string };

/**
 * Sets the niceness of this process's main thread, where the JavaScript runs (Linux applies nice per
 * thread; threads started later inherit it). Lowering the priority needs no privilege; raising it does,
 * and a refusal is reported, not thrown: the app runs on at the priority it has.
 */
export function applyProcessNice(nice: number): PriorityOutcome {
  const current = getPriority();
  if (current === nice) return { applied: true, nice };
  try {
    setPriority(nice);
    return { applied: true, nice };
  } catch (error) {
    return { applied: false, nice, current, reason: (error as Error).message };
  }
}
