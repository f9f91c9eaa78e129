export { type RunningProcess, type StartOptions, startProcess, stopAll } from './start-process.js';
