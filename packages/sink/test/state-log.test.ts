import { captureLogs } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';
import { createStateLog } from '../src/index.js';

describe("a destination's state log", () => {
  it('says once that the destination went away and once that it came back, however many tries failed', () => {
    const logs = captureLogs('test-sink');
    const state = createStateLog(logs.logger, 'influxdb');
    state.up('InfluxDB v1 http://127.0.0.1:8086 db a');
    state.down('connect ECONNREFUSED');
    state.down('connect ECONNREFUSED');
    state.down('timeout');
    expect(state.current).toBe('down: timeout');
    state.up('InfluxDB v1 http://127.0.0.1:8086 db a');
    state.up();
    expect(state.current).toBe('up');
    expect(logs.lines).toMatchObject([
      {
        level: 40,
        dependency: 'influxdb',
        reason: 'connect ECONNREFUSED',
        msg: 'influxdb unavailable: connect ECONNREFUSED; work waits in the queue and is retried',
      },
      { level: 30, msg: 'influxdb is back: InfluxDB v1 http://127.0.0.1:8086 db a' },
    ]);
  });
});
