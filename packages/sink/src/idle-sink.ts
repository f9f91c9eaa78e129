import type { Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';

type DestinationSection = 'influxdbConfig' | 'mqttConfig';

/**
 * A sink whose destination the config switches off (Butler SOS configs often have `mqttConfig.enable:
 * false`) stays up and says so once, instead of exiting into its supervisor's restart loop. Pollers send it
 * nothing while the destination is off. Switching it on takes a restart, as changing the destination does.
 */
export function startIdleSink(context: RoleContext, name: string, section: DestinationSection): RunningRole {
  const { logger } = context;
  logger.warn(
    { section },
    `${section}.enable is false: the ${name} has nothing to do and idles; restart it after enabling ${section}`,
  );
  let enabled = false;
  return {
    name,
    async checks() {
      return {};
    },
    async applySettings(next: Settings) {
      if (next[section].enable && !enabled)
        logger.warn({ section }, `${section}.enable is now true: restart the ${name} to start delivering`);
      enabled = next[section].enable;
    },
    async stop() {},
  };
}
