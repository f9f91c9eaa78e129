import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;

export interface ProcessStats {
  /** User + system CPU seconds used so far. */
  cpuSeconds: number;
  /** Resident memory now and its peak (VmHWM), in MB. */
  rssMb: number;
  peakRssMb: number;
  /** Niceness of the main thread. */
  nice: number;
}

/** CPU, memory and priority of a process from /proc (Linux). */
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
    nice: Number(fields[16]),
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

/** CPU seconds each process used between two readings (to 10 ms). */
export function cpuDelta(
  before: Record<string, ProcessStats>,
  after: Record<string, ProcessStats>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([name, s]) => [
      name,
      Math.round((s.cpuSeconds - (before[name]?.cpuSeconds ?? 0)) * 100) / 100,
    ]),
  );
}
