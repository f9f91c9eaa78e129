export {
  type CertificateStore,
  createCertificateStore,
  type LoadedCertificates,
} from './certificate-store.js';
export {
  buildTopology,
  InvalidRepositoryResponseError,
  parseProxyServices,
  parseVirtualProxyConfigs,
} from './parse-repository.js';
export { InvalidSessionListError, parseSessions } from './parse-sessions.js';
export { createQpsClient, type QpsClient, type QpsClientOptions, type SessionList } from './qps-client.js';
export { isQpsError, QpsError, type QpsErrorCategory, type QpsErrorDetails } from './qps-error.js';
export {
  createDiscoveryRepositoryClient,
  createRepositoryClient,
  DEFAULT_REPOSITORY_PORT,
  type RepositoryClient,
  type RepositoryClientOptions,
  type RepositoryUser,
  repositoryHostPort,
} from './repository-client.js';
export { isRepositoryError, RepositoryError, type RepositoryErrorDetails } from './repository-error.js';
export { buildSessionUrl, withoutQuery } from './session-url.js';
export { createXrfkey } from './xrfkey.js';
