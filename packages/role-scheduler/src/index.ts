export { discoverySetupFrom } from './discovery-setup.js';
export { type DiscoverySetup, type SchedulerRole, startScheduler } from './scheduler.js';
