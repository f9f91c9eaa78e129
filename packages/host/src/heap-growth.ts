import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets the old generation grow past what the last full collection kept before it collects
 * again (0: V8's own choice). V8 picks up to 4x when collections are cheap, which a poller's bursts make
 * them: objects of polls in flight live long enough to be promoted, then die, and fill that room
 * (measured in docs/performance.md). The flag is read at every collection, so it takes effect from the
 * next one.
 */
export function applyHeapGrowingPercent(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
