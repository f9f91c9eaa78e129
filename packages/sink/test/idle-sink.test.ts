import type { Settings } from '@qsm/config';
import type { RoleContext } from '@qsm/host';
import { captureLogs } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';
import { startIdleSink } from '../src/index.js';

describe('a sink whose destination is switched off', () => {
  it('says so once, then asks for a restart when the config switches it on', async () => {
    const logs = captureLogs('mqtt-sink');
    const off = { mqttConfig: { enable: false } } as unknown as Settings;
    const on = { mqttConfig: { enable: true } } as unknown as Settings;
    const role = startIdleSink({ logger: logs.logger } as RoleContext, 'mqtt-sink', 'mqttConfig');
    expect(await role.checks()).toEqual({});
    await role.applySettings(off);
    await role.applySettings(on);
    await role.applySettings(on);
    expect(logs.messages('warn')).toEqual([
      'mqttConfig.enable is false: the mqtt-sink has nothing to do and idles; restart it after enabling mqttConfig',
      'mqttConfig.enable is now true: restart the mqtt-sink to start delivering',
    ]);
    await role.stop();
  });
});
