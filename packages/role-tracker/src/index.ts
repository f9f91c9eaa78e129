export { createSiteFiguresExtension } from './site-figures-extension.js';
export * from './track-handler.js';
export { startTracker, type TrackerDeps, type TrackerExtension } from './tracker.js';
export { type TrackerMetrics, trackerMetrics } from './tracker-metrics.js';
