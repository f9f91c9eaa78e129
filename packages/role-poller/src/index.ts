export {
  createPollHandler,
  type PollHandlerDeps,
  type PollJob,
  type PollOutcome,
  pollTimeoutMs,
} from './poll-handler.js';
export { startPoller } from './poller.js';
export { type PollerMetrics, pollerMetrics } from './poller-metrics.js';
