import { ConfigError, type LoadedConfig, type Settings } from '@qsm/config';
import { describe, expect, it } from 'vitest';
import { type ConfigReloaderSettings, createConfigReloader } from '../src/config-reload.js';
import type { RunningRole } from '../src/role.js';
import { captureLogger } from './capture-logger.js';

/** A config the tests tell apart by its marker; the roles only pass it on. */
const config = (marker: string): LoadedConfig => ({
  settings: { marker } as unknown as Settings,
  warnings: [],
});
const markerOf = (settings: Settings) => (settings as unknown as { marker: string }).marker;

function recordingRole(name: string, applyMs = 0) {
  const applied: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const role: RunningRole = {
    name,
    checks: async () => ({}),
    async applySettings(settings) {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, applyMs));
      applied.push(markerOf(settings));
      running--;
    },
    stop: async () => {},
  };
  return { role, applied, mostAtOnce: () => mostAtOnce };
}

/** A reloader of `config.yaml` for these roles, reading it with `load`, logging into `lines`. */
function reloaderFor(roles: RunningRole[], load: NonNullable<ConfigReloaderSettings['load']>) {
  const { logger, lines } = captureLogger();
  const reloader = createConfigReloader({
    file: 'config.yaml',
    checkCertificates: false,
    logger,
    roles: () => roles,
    load,
  });
  return { reloader, lines };
}

describe('reloading the config', () => {
  it('hands a valid config to every role', async () => {
    const a = recordingRole('a');
    const b = recordingRole('b');
    const { reloader, lines } = reloaderFor([a.role, b.role], () => config('v2'));
    await reloader.reload('SIGHUP');
    expect(a.applied).toEqual(['v2']);
    expect(b.applied).toEqual(['v2']);
    expect(lines.find((l) => l.msg === 'config reloaded')).toMatchObject({ reason: 'SIGHUP' });
  });

  it('keeps the running config when the new file is invalid, and says why', async () => {
    const a = recordingRole('a');
    const { reloader, lines } = reloaderFor([a.role], (file) => {
      throw new ConfigError(file, [
        { path: 'Butler-SOS.mqttConfig.brokerPort', message: 'expected a number' },
      ]);
    });
    await reloader.reload('file changed');
    expect(a.applied).toEqual([]);
    expect(lines.map((l) => l.msg)).toContain(
      'config change rejected (1 problem(s)): keeping the running config',
    );
    expect(lines.some((l) => l.path === 'Butler-SOS.mqttConfig.brokerPort')).toBe(true);
    expect(lines.some((l) => l.msg === 'config reloaded')).toBe(false);
  });

  it('keeps the running config when the file cannot be loaded for another reason, and goes on reloading', async () => {
    const a = recordingRole('a');
    let broken = true;
    const { reloader, lines } = reloaderFor([a.role], () => {
      if (broken) throw new Error('disk on fire');
      return config('v3');
    });
    await reloader.reload('file changed');
    expect(a.applied).toEqual([]);
    expect(lines.find((l) => l.msg === 'config reload failed: keeping the running config')).toMatchObject({
      level: 50,
      reason: 'file changed',
    });
    broken = false;
    await reloader.reload('SIGHUP');
    expect(a.applied).toEqual(['v3']);
  });

  it('still hands the config to the other roles when one fails to apply it', async () => {
    const b = recordingRole('b');
    const failing: RunningRole = {
      ...b.role,
      name: 'a',
      applySettings: () => Promise.reject(new Error('no')),
    };
    const { reloader, lines } = reloaderFor([failing, b.role], () => config('v2'));
    await reloader.reload('SIGHUP');
    expect(b.applied).toEqual(['v2']);
    expect(lines.find((l) => l.msg === 'config reload failed in a role')).toMatchObject({ role: 'a' });
  });

  it('runs one reload at a time, and the reloads asked for meanwhile as one, reading the latest file', async () => {
    const a = recordingRole('a', 50);
    let version = 1;
    let loads = 0;
    const { reloader } = reloaderFor([a.role], () => {
      loads++;
      return config(`v${version}`);
    });
    const first = reloader.reload('file changed');
    await new Promise((resolve) => setTimeout(resolve, 10)); // the first is applying now
    version = 2;
    const second = reloader.reload('file changed');
    version = 3;
    const third = reloader.reload('SIGHUP');
    expect(third).toBe(second);
    await Promise.all([first, second, third]);
    expect(a.mostAtOnce()).toBe(1);
    expect(loads).toBe(2);
    expect(a.applied).toEqual(['v1', 'v3']);
  });

  it('does nothing once the app is stopping', async () => {
    const a = recordingRole('a');
    const { reloader, lines } = reloaderFor([a.role], () => config('v2'));
    reloader.close();
    await reloader.reload('SIGHUP');
    expect(a.applied).toEqual([]);
    expect(lines.some((l) => l.msg.startsWith('config reload skipped'))).toBe(true);
  });
});
