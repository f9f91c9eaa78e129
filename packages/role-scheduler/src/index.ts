export { type SchedulerRole, startScheduler } from './scheduler.js';
