import { spawnSync } from 'node:child_process';
import { appMain } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';

/* Only the command line: these runs stop before any service is touched. */
const bench = (...args: string[]) =>
  spawnSync(process.execPath, [appMain('bench'), ...args], { encoding: 'utf8', timeout: 20_000 });

describe('pnpm bench, its command line', () => {
  it('--help prints the options and exits 0', () => {
    const run = bench('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--cases cycle,throughput,latency,influx');
  });

  it('refuses an unknown option, an unknown case and a count that is no number, with the usage and exit 2', () => {
    for (const [args, message] of [
      [['--foo'], "Unknown option '--foo'"],
      [['--cases', 'cycle,infux'], 'unknown case(s) infux'],
      [['--proxies', 'many'], '--proxies must be a whole number above 0, not "many"'],
    ] as const) {
      const run = bench(...args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain('pnpm bench [options]');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
