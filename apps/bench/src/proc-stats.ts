import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;

export interface ProcessStats {
  /** User + system CPU seconds used so far. */
  cpuSeconds: number;
  /** Resident memory now and its peak (VmHWM), in MB. */
  rssMb: number;
  peakRssMb: number;
}

/** CPU and memory of a process from /proc (Linux). */
export function processStats(pid: number): ProcessStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return {
    cpuSeconds: (utime + stime) / CLOCK_TICKS,
    rssMb: kb('VmRSS') / 1024,
    peakRssMb: kb('VmHWM') / 1024,
  };
}

/** Stats of many processes by name, safe against processes that already exited. */
export function statsOf(
  processes: Array<{ name: string; pid: number | undefined }>,
): Record<string, ProcessStats> {
  const out: Record<string, ProcessStats> = {};
  for (const p of processes) {
    if (!p.pid) continue;
    try {
      out[p.name] = processStats(p.pid);
    } catch {
      // exited
    }
  }
  return out;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

const SERVICES = ['redis-server', 'influxd', 'mosquitto'];

/** The local Redis, InfluxDB and Mosquitto processes (their CPU is part of what a poll costs). */
export function serviceProcesses(): Array<{ name: string; pid: number }> {
  const found: Array<{ name: string; pid: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (SERVICES.includes(comm)) found.push({ name: comm, pid: Number(entry) });
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
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = statsOf(processes);
    const used = Object.keys(after).reduce(
      (sum, name) => sum + after[name]!.cpuSeconds - (before[name]?.cpuSeconds ?? 0),
      0,
    );
    if (used <= maxCores) return;
  }
}
