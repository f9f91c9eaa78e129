import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScenarioResult } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.resolve(here, '../../.results');
const reportFile = path.resolve(here, '../../../../docs/reliability.md');

/**
 * Vitest global setup: a clean results folder before the suite, and docs/reliability.md after it when
 * asked for (`pnpm reliability-report` sets QSM_WRITE_RELIABILITY_REPORT=1). The report holds this
 * machine's figures: a plain `pnpm test` leaves the tracked file alone.
 */
export function setup() {
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
}

export function teardown() {
  if (process.env.QSM_WRITE_RELIABILITY_REPORT !== '1' || !existsSync(resultsDir)) return;
  const results = readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as ScenarioResult)
    .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  // A partial run (one file, a filter) must not overwrite the full report.
  if (results.length < 10 && !process.env.QSM_WRITE_PARTIAL_REPORT) return;
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '# Reliability report',
    '',
    'Written by the fault suite itself (`tests/reliability`, part of `pnpm test`) when run as',
    '`pnpm reliability-report`, against the real parts:',
    'Redis, Mosquitto, InfluxDB 1.x (Debian packages), the QPS simulator, and the apps as processes.',
    `Last run: ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
    `Outage length: ${process.env.QSM_OUTAGE_SECONDS ?? '60'} s.`,
    '',
    '| # | Scenario | What was done | What was counted | Result |',
    '| --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.id} | ${cell(r.title)} | ${cell(r.did.join('; '))} | ${cell(r.counted.map(([k, v]) => `${k}: ${v}`).join('; '))} | ${cell(r.result)} (${r.seconds} s) |`,
    ),
    '',
    'Reproduce: `pnpm reliability-report`.',
    '',
  ];
  mkdirSync(path.dirname(reportFile), { recursive: true });
  writeFileSync(reportFile, lines.join('\n'));
}
