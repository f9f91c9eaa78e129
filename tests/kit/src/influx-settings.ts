/**
 * The InfluxDB 1.x settings the tests write with: the shared local InfluxDB, no auth, and the
 * one-day `short` retention policy. Spelled out here rather than typed with @qsm/config, which
 * depends on this kit for its own tests; the shape stays assignable to its InfluxSettings.
 */
export interface InfluxV1TestSettings {
  enable: true;
  host: string;
  port: number;
  maxBatchSize: number;
  version: 1;
  v1Config: {
    auth: { enable: boolean; username: string; password: string };
    dbName: string;
    retentionPolicy: { name: string; duration: string };
  };
}

export function influxV1TestSettings(dbName: string): InfluxV1TestSettings {
  return {
    enable: true,
    host: '127.0.0.1',
    port: 8086,
    maxBatchSize: 1000,
    version: 1,
    v1Config: {
      auth: { enable: false, username: '', password: '' },
      dbName,
      retentionPolicy: { name: 'short', duration: '1d' },
    },
  };
}
