import { readdirSync, readFileSync } from 'node:fs';
import { cpuDelta, sleep, statsOf } from '@qsm/testkit';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** The local services whose CPU is part of what a poll costs (process names as in /proc/<pid>/comm). */
export const SERVICE_NAMES = new Set(['redis-server', 'influxd', 'mosquitto']);

/** The running Redis, InfluxDB and Mosquitto processes. */
export function serviceProcesses(): Array<{ name: string; pid: number }> {
  const found: Array<{ name: string; pid: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (SERVICE_NAMES.has(comm)) found.push({ name: comm, pid: Number(entry) });
    } catch {
      // exited
    }
  }
  return found;
}

/**
 * Waits until the services are idle (InfluxDB compacts and Redis frees memory after a case), so one
 * case's leftovers do not count against the next. Gives up after `timeoutMs`.
 */
export async function waitForIdleServices(maxCores = 0.05, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const processes = serviceProcesses();
    const before = statsOf(processes);
    await sleep(1000);
    const used = Object.values(cpuDelta(before, statsOf(processes))).reduce((sum, s) => sum + s, 0);
    if (used <= maxCores) return;
  }
}
