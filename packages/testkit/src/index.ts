export { testCertificates } from './certificates.js';
export { type RunningProcess, startProcess, stopAll } from './child-process.js';
export { appMain, repoRoot, tempDir, uniqueName } from './paths.js';
export { services } from './services.js';
export {
  type SimFault,
  type SimProxyState,
  type SimSessionInput,
  type SimState,
  type Simulator,
  startSimulator,
} from './simulator.js';
export { sleep, waitUntil } from './wait-until.js';
