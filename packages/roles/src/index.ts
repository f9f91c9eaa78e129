export { startInfluxSink } from './influx-sink.js';
export { brokerUrl, startMqttSink } from './mqtt-sink.js';
export { type PollOutcome, pollTimeoutMs, startPoller } from './poller.js';
export type { RoleContext, RunningRole } from './role.js';
export { type AppDefinition, type RunningApp, runApp } from './run-app.js';
export { type SchedulerRole, startScheduler } from './scheduler.js';
