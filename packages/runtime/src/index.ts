export { exitProcess } from './exit-process.js';
export { applyHeapGrowingPercent } from './heap-growth.js';
export { type ListenSetting, listenFailure } from './listen-failure.js';
export { metricValue } from './metric-value.js';
export { createMetricsRegistry } from './metrics-registry.js';
export { type OpsServer, type OpsServerSettings, type Readiness, startOpsServer } from './ops-server.js';
export { applyProcessNice } from './process-priority.js';
export { handleShutdownSignals, logProcessFaults, type ShutdownSettings } from './shutdown.js';
export { watchConfigFile } from './watch-file.js';
