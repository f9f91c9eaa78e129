import type { InfluxSettings } from '@qsm/config';
import { formatHostPort } from '@qsm/net';
import { createV2Writer, createV3Writer } from './client-writer.js';
import type { InfluxWriter } from './influx-writer.js';
import { createV1Writer } from './v1-writer.js';

export interface InfluxConnectionOverrides {
  /** `INFLUX_URL`: replaces `http://host:port` (e.g. https). */
  url?: string | undefined;
  caFile?: string | undefined;
  rejectUnauthorized?: boolean;
  /** `INFLUX_USERNAME` / `INFLUX_PASSWORD` / `INFLUX_TOKEN`: secrets from the environment win over the file. */
  username?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  timeoutMs?: number;
}

/** The writer for `Butler-SOS.influxdbConfig` (version 1, 2 or 3). */
export function createInfluxWriter(
  influx: Extract<InfluxSettings, { enable: true }>,
  overrides: InfluxConnectionOverrides = {},
): InfluxWriter {
  const url = overrides.url ?? `http://${formatHostPort(influx.host, influx.port)}`;
  const transport = {
    url,
    caFile: overrides.caFile,
    rejectUnauthorized: overrides.rejectUnauthorized ?? true,
    timeoutMs: overrides.timeoutMs ?? 30_000,
  };
  switch (influx.version) {
    case 1: {
      const auth = { ...influx.v1Config.auth };
      if (overrides.username) auth.username = overrides.username;
      if (overrides.password) {
        auth.password = overrides.password;
        auth.enable = true;
      }
      return createV1Writer(transport, { ...influx.v1Config, auth });
    }
    case 2:
      return createV2Writer(transport, {
        ...influx.v2Config,
        token: overrides.token ?? influx.v2Config.token,
      });
    case 3:
      return createV3Writer(transport, {
        ...influx.v3Config,
        token: overrides.token ?? influx.v3Config.token,
      });
  }
}
