import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const runtime = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * A poller's memory pattern in miniature: a live heap, and bursts of objects that live long enough to be
 * promoted to the old generation, then die. Returns the largest the old generation became (MB).
 */
async function peakOldGenerationMb(percent: number): Promise<number> {
  const script = `
    const { applyHeapGrowingPercent } = await import(${JSON.stringify(runtime)});
    const v8 = await import('node:v8');
    applyHeapGrowingPercent(${percent});
    const live = Array.from({ length: 100_000 }, (_, i) => ({ i, s: 'live-' + i }));
    const inFlight = [];
    let peak = 0;
    for (let burst = 0; burst < 40; burst++) {
      for (let k = 0; k < 200; k++) {
        inFlight.push(Array.from({ length: 500 }, (_, i) => ({ burst, k, i, s: 'in-flight-' + i })));
        if (inFlight.length > 400) inFlight.shift();
      }
      await new Promise((resolve) => setImmediate(resolve));
      const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
      peak = Math.max(peak, old);
    }
    console.log(live.length && Math.round(peak / 2 ** 20));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  return Number(stdout.trim());
}

describe('bounding the heap between full collections', () => {
  // Against a fixed 4x (V8's largest own choice), not against V8's own choice: that depends on how fast
  // the machine is at the moment, and on a busy one V8 may choose a small factor itself.
  it('collects once the old generation has grown by the given percentage, not at several times the live heap', async () => {
    const generous = await peakOldGenerationMb(300);
    const bounded = await peakOldGenerationMb(50);
    expect(bounded).toBeGreaterThan(0);
    expect(bounded).toBeLessThan(generous * 0.75);
  }, 30_000);
});
