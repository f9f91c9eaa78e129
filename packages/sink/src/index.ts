export { createGiveUpLog, type GiveUpLog } from './give-up-log.js';
export { startIdleSink } from './idle-sink.js';
export { deliveryLatencyMetric, sinkRetryMetrics } from './sink-metrics.js';
export { createSinkRetries, type SinkRetries, type SinkRetrySettings } from './sink-retries.js';
export { createStateLog } from './state-log.js';
