import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  repoRoot,
  rows,
  startProcess,
  tempDir,
  uniqueName,
  waitUntil,
} from '@qsm/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const prefix = uniqueName('demo');
const db = uniqueName('qsm_demo');
const baseTopic = `qsm-test/${prefix}/`;

afterAll(async () => {
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('pnpm demo', () => {
  it('runs the whole pipeline, fills InfluxDB and MQTT within seconds, and stops cleanly on SIGINT', async () => {
    const subscriber = await collectMqtt(`${baseTopic}#`);
    const demo = startProcess('demo', process.execPath, [path.join(repoRoot, 'apps/demo/dist/main.js')], {
      env: {
        DEMO_DIR: tempDir('demo'),
        QUEUE_PREFIX: prefix,
        DEMO_INFLUX_DB: db,
        DEMO_BASE_TOPIC: baseTopic,
        DEMO_INTERVAL_MS: '2000',
        BOARD_PORT: '0',
      },
    });
    await demo.waitForLine((l) => l === 'demo running', 40_000);
    const started = Date.now();
    expect(demo.lines.join('\n')).toMatch(/Bull Board +http:\/\/127\.0\.0\.1:\d+\/ +\(login admin \/ \S+\)/);
    expect(demo.lines.join('\n')).toContain(`database ${db}`);
    expect(demo.lines.join('\n')).toContain(`topics ${baseTopic}<qps host>/usersession/<proxy>`);

    await waitUntil(
      async () =>
        Number(
          rows(await influxQuery(db, 'SELECT count(session_count) FROM user_session_summary'))[0]?.count ?? 0,
        ) >= 9,
      'points of all nine proxies in InfluxDB',
      { timeoutMs: 15_000 },
    );
    await waitUntil(() => subscriber.messages.length >= 9, 'messages on MQTT', { timeoutMs: 15_000 });
    expect(Date.now() - started).toBeLessThan(15_000);
    await waitUntil(() => demo.lines.some((l) => l.startsWith('polls/s')), 'a summary line', {
      timeoutMs: 10_000,
    });
    const summary = demo.lines.find((l) => l.startsWith('polls/s'))!;
    expect(summary).toMatch(
      /^polls\/s [\d.]+ \| sessions now \d+ \| points written \d+ \| MQTT messages \d+ \| failed polls \d+$/,
    );
    // Polls come in bursts, one per interval: the rate is an average, never 0 between two bursts.
    expect(Number(/^polls\/s ([\d.]+)/.exec(summary)![1])).toBeGreaterThan(0);

    const children = childrenOf(demo.child.pid!);
    expect(children.length).toBe(8);
    expect(await demo.stop('SIGINT', 30_000)).toBe(0);
    expect(demo.lines).toContain('stopped');
    expect(children.filter(alive)).toEqual([]);
    await subscriber.close();
  });
});
