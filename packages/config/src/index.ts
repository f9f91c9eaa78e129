export { checkCertificateFiles, resolveCertificateFile } from './certificates.js';
export { ConfigError, type ConfigProblem, formatProblem } from './config-error.js';
export { configFilePath } from './config-file-path.js';
export {
  type DiscoveryEnv,
  type DiscoverySettings,
  discoveryEnvSchema,
  type HostOverride,
  QRS_DEFAULT_PORT,
  readDiscoverySettings,
} from './discovery.js';
export * from './environment.js';
export { hostWithoutPort, isTemplatePlaceholder, parseHostPort } from './host-port.js';
export {
  type LoadedConfig,
  type LoadOptions,
  loadConfigFile,
  parseConfig,
  validateConfig,
} from './load-config.js';
export { probeHosts } from './probe-hosts.js';
export {
  formatQueueShard,
  inQueueShard,
  parseQueueShard,
  queueShardOf,
  settingsForQueueShard,
} from './queue-shard.js';
export * from './settings.js';
export { summarizeSettings } from './summary.js';
export { checkVirtualProxyPrefix } from './virtual-proxy.js';
