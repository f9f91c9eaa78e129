export { type RunningProcess, startProcess, stopAll } from '@qsm/child-process';
export { type AppName, metricValue, type RunningApp, startApp } from './apps.js';
export { butlerConfig, type TestConfigOptions, type TestServer, writeButlerConfig } from './butler-config.js';
export { BUTLER_SOS_TEMPLATE, filledButlerSosTemplate } from './butler-sos-template.js';
export { testCertificates } from './certificates.js';
export {
  dropInfluxDatabase,
  type InfluxSeries,
  influxCommand,
  influxQuery,
  influxWrite,
  rows,
} from './influx-query.js';
export { type InfluxV1TestSettings, influxV1TestSettings } from './influx-settings.js';
export { type CapturedLogs, captureLogs, type LogLine } from './log-capture.js';
export { collectMqtt, type MqttCollector, type MqttMessage } from './mqtt-collector.js';
export {
  freePort,
  type OwnRedisCluster,
  type OwnService,
  type ServerTls,
  startOwnInfluxd,
  startOwnMosquitto,
  startOwnRedis,
  startOwnRedisCluster,
  waitForPort,
} from './own-services.js';
export { appMain, repoRoot, tempDir, uniqueName } from './paths.js';
export { samplePollResult } from './poll-results.js';
export { cpuDelta, type ProcessStats, processStats, statsOf } from './process-stats.js';
export { cleanupRedisPrefix } from './redis-cleanup.js';
export { type TestRedis, useTestRedis } from './redis-prefix.js';
export { services } from './services.js';
export {
  type LookAlikeSession,
  type SimFault,
  type SimNewVirtualProxy,
  type SimProxyState,
  type SimRepositoryFault,
  type SimRepositoryState,
  type SimSessionInput,
  type SimState,
  type Simulator,
  startSimulator,
} from './simulator.js';
export { sleep, waitUntil } from './wait-until.js';
