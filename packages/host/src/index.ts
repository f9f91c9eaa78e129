export type { AppDefinition, AppEnvironment, RunningApp } from './app-definition.js';
export { exitProcess } from './exit-process.js';
export { applyHeapGrowingPercent } from './heap-growth.js';
export { type ListenSetting, listenFailure } from './listen-failure.js';
export {
  type MetricsTextSource,
  type MetricsTexts,
  metricOnce,
  metricsExposition,
} from './metrics-registry.js';
export type { ProcessContext, RoleContext, RunningRole } from './role.js';
export { runApp } from './run-app.js';
