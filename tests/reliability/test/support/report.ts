import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

export const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.results');

export interface ScenarioRecord {
  /** What the test did, step by step. */
  did(step: string): void;
  /** A figure the test counted and checked. */
  count(what: string, value: number | string): void;
}

export interface ScenarioResult {
  id: string;
  title: string;
  did: string[];
  counted: Array<[string, number | string]>;
  result: string;
  seconds: number;
}

/**
 * A test that is also a row of docs/reliability.md: it records what it did and what it counted, and
 * whether its assertions held. The report is written when the suite ends (report-setup.ts).
 */
export function scenario(
  id: string,
  title: string,
  run: (record: ScenarioRecord) => Promise<void>,
  timeoutMs?: number,
) {
  it(
    `${id}: ${title}`,
    async () => {
      const started = Date.now();
      const out: ScenarioResult = { id, title, did: [], counted: [], result: 'pass', seconds: 0 };
      const record: ScenarioRecord = {
        did: (step) => void out.did.push(step),
        count: (what, value) => void out.counted.push([what, value]),
      };
      try {
        await run(record);
      } catch (error) {
        out.result = `FAIL: ${(error as Error).message.split('\n')[0]}`;
        throw error;
      } finally {
        out.seconds = Math.round((Date.now() - started) / 100) / 10;
        mkdirSync(resultsDir, { recursive: true });
        writeFileSync(
          path.join(resultsDir, `${id.replace(/[^\w.-]/g, '_')}.json`),
          JSON.stringify(out, null, 2),
        );
      }
    },
    timeoutMs,
  );
}
