export { startPoller } from './poller.js';
