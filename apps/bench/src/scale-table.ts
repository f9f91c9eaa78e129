import type { ScaleResult } from './scale-case.js';

const met = (ok: boolean) => (ok ? 'yes' : 'NO');
const worst = (values: number[]) =>
  values.some((v) => !Number.isFinite(v)) ? Number.NaN : Math.max(...values);

/** The scale case's rows of the table in docs/performance.md: measure, target, result, met. */
export function scaleRows(s: ScaleResult): string[][] {
  const k = (n: number) => n.toLocaleString('en-US');
  const shape = `${k(s.proxies)} proxies on ${s.servers} servers, ${s.latencyMs} ms, ${s.sessions} sessions, every ${s.intervalMs / 1000} s, ${s.pollers} pollers, both sinks, tracker`;
  const everyInterval =
    s.intervals.length > 0 &&
    s.intervals.every((x) => x.proxiesPolled === x.expected && x.polls === x.expected);
  const lastPoll = worst(s.intervals.map((x) => x.lastPollSeconds));
  const lastAck = worst(s.intervals.map((x) => x.lastInfluxAckSeconds));
  const waiting: Record<string, number> = {};
  for (const x of s.intervals)
    for (const [queue, n] of Object.entries(x.waitingAtStart))
      waiting[queue] = Math.max(waiting[queue] ?? 0, n);
  const sampled = s.intervals.every((x) => Object.keys(x.waitingAtStart).length > 0);
  const reconcile = (label: string, r: ScaleResult['add1000'], changedPolled?: number) => [
    `Scale: ${label}${changedPolled !== undefined ? ', the other proxies polled in every interval it overlapped' : ''}`,
    '< 30 s',
    `${r.seconds} s${
      changedPolled !== undefined
        ? ` (others polled: ${r.intervals.map((x) => `${k(x.proxiesPolled)}/${k(x.expected)}`).join(', ')}; of the 1,000, ${r.changedPolledAfter ?? 'NaN'} polled in the last of those intervals)`
        : ''
    }`,
    met(
      r.seconds < 30 &&
        r.othersPolledEveryInterval &&
        (changedPolled === undefined || r.changedPolledAfter === changedPolled),
    ),
  ];
  const m = s.memory;
  return [
    [
      `Scale (${shape}): polls per interval over ${s.intervals.length} intervals after a warm-up of ${s.warmupIntervals}`,
      'every proxy every interval, none stale',
      `${s.intervals.map((x) => k(x.polls)).join(', ')} (proxies polled: ${s.intervals.map((x) => k(x.proxiesPolled)).join(', ')}); stale ${s.staleSkipped}, overlap ${s.overlapSkipped}, failed ${s.failedPolls}`,
      met(everyInterval && s.staleSkipped === 0 && s.overlapSkipped === 0),
    ],
    [
      'Scale: from the interval start to the last poll, and to the last InfluxDB acknowledgement (worst interval)',
      `< ${s.intervalMs / 1000} s both`,
      `last poll ${lastPoll} s, last ack ${lastAck} s (acks: ${s.intervals.map((x) => x.lastInfluxAckSeconds).join(', ')} s)`,
      met(lastPoll < s.intervalMs / 1000 && lastAck < s.intervalMs / 1000),
    ],
    [
      'Scale: jobs waiting at the start of an interval, left from the previous one (worst interval, per queue)',
      '0',
      Object.entries(waiting)
        .map(([queue, n]) => `${queue} ${n}`)
        .join(', '),
      met(sampled && Object.values(waiting).every((n) => n === 0)),
    ],
    reconcile(
      `reconcile ${k(s.reconcileFromEmpty.schedulers)} job schedulers from empty`,
      s.reconcileFromEmpty,
    ),
    reconcile('remove 1,000 proxies from the config, 2 s into an interval', s.remove1000, 0),
    reconcile('add the 1,000 back, 2 s into an interval', s.add1000, 1000),
    [
      `Scale: a poller's /metrics with ${k(s.metricsScrape.series)} session gauge series (${s.metricsScrape.samples} scrapes during the intervals)`,
      '< 200 ms',
      `p50 ${s.metricsScrape.p50Ms} ms, p90 ${s.metricsScrape.p90Ms} ms, max ${s.metricsScrape.maxMs} ms (the slowest ones during the poll bursts, when the machine's cores are saturated)`,
      // The median: a scrape that lands in the poll burst of a saturated machine waits for a core.
      met(s.metricsScrape.samples > 0 && s.metricsScrape.series === s.proxies && s.metricsScrape.p50Ms < 200),
    ],
    [
      `Scale: the scheduler's periodic check of ${k(s.proxies)} job schedulers (every 30 s in this case)`,
      '',
      `${s.periodicCheck.cpuMsPerCheck} ms of the scheduler's CPU per check (${s.periodicCheck.checks} checks)`,
      '',
    ],
    [
      'Scale: Redis memory, used (peak), and per part',
      '',
      `${m.usedMb} MB (${m.peakMb} MB); per job scheduler ${m.bytesPerJobScheduler} B (its hash ${m.schedulerHashBytes} B, its next poll ${m.pendingPollBytes} B; finished polls kept for the board ${m.finishedPollsKeptMb} MB in all); per waiting result ${m.bytesPerWaitingResult} B (${k(m.waitingResults)} held one interval, delivered in ${m.drainSeconds} s); per tracked session ${m.bytesPerTrackedSession} B (${k(m.trackedSessions)} sessions); site summaries ${m.siteBytesPerProxy} B per proxy`,
      '',
    ],
  ];
}

/** The scale case's CPU and Redis figures per successful poll, the inputs of docs/scaling.md. */
export function scaleNotes(s: ScaleResult): string[] {
  const perPoll = Object.entries(s.cpuMsPerPoll)
    .map(([role, ms]) => `${role} ${ms} ms`)
    .join(', ');
  return [
    `- scale: ${Object.entries(s.cpuSeconds)
      .map(([n, sec]) => (n in s.peakRssMb ? `${n} ${sec} s / ${s.peakRssMb[n]} MB` : `${n} ${sec} s`))
      .join(', ')} (${s.windowSeconds} s window, ${s.okPolls.toLocaleString('en-US')} polls)`,
    '',
    `Scale case, per successful poll: CPU ${perPoll}; Redis ${s.redisPerPoll.commands} commands, ${s.redisPerPoll.bytesIn} bytes in, ${s.redisPerPoll.bytesOut} bytes out, ${s.redisPerPoll.cpuMs} ms CPU (calls per poll, scripts' own included: ${Object.entries(
      s.redisPerPoll.topCalls,
    )
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')}).`,
    `Redis memory by part (MB): ${Object.entries(s.memory.partsMb)
      .map(([part, mb]) => `${part} ${mb}`)
      .join(', ')} (${s.memory.keys.toLocaleString('en-US')} keys).`,
  ];
}
