import { describe, expect, it } from 'vitest';
import { processSettings } from '../src/process-settings.js';
import { appReadiness } from '../src/readiness.js';
import type { RunningRole } from '../src/role.js';

const role = (name: string, checks: Record<string, string>): RunningRole => ({
  name,
  checks: async () => checks,
  applySettings: async () => {},
  stop: async () => {},
});

describe('readiness', () => {
  it('is ready when Redis and every check of every role are up', async () => {
    const roles = [role('poller', { qps: 'up' }), role('influx-sink', { influxdb: 'up' })];
    const readiness = appReadiness({ status: 'ready' }, () => roles);
    expect(await readiness()).toEqual({ ready: true, checks: { redis: 'up', qps: 'up', influxdb: 'up' } });
  });

  it('is not ready while Redis is away or one check is down, and says which', async () => {
    const roles: RunningRole[] = [];
    const connection = { status: 'reconnecting' };
    const readiness = appReadiness(connection, () => roles);
    expect(await readiness()).toEqual({ ready: false, checks: { redis: 'down: reconnecting' } });
    connection.status = 'ready';
    roles.push(role('influx-sink', { influxdb: 'down: ECONNREFUSED' }));
    expect(await readiness()).toEqual({
      ready: false,
      checks: { redis: 'up', influxdb: 'down: ECONNREFUSED' },
    });
  });
});

describe('process settings', () => {
  it('takes the environment over what the app declares, and the runtime default when neither says', () => {
    expect(processSettings({}, {})).toEqual({ heapGrowingPercent: 0, nice: 0 });
    expect(processSettings({}, { defaultNice: 5, defaultHeapGrowingPercent: 50 })).toEqual({
      heapGrowingPercent: 50,
      nice: 5,
    });
    expect(
      processSettings(
        { PROCESS_NICE: 0, HEAP_GROWING_PERCENT: 0 },
        { defaultNice: 5, defaultHeapGrowingPercent: 50 },
      ),
    ).toEqual({ heapGrowingPercent: 0, nice: 0 });
  });
});
