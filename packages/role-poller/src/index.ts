export { type PollOutcome, pollTimeoutMs, startPoller } from './poller.js';
