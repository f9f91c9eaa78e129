export { registerCommands } from './commands.js';
export * from './connection.js';
export * from './delivery-markers.js';
export * from './discovery-store.js';
export * from './eviction.js';
export * from './poll-lock.js';
export * from './published-snapshots.js';
export * from './session-counts.js';
export * from './site-intervals.js';
