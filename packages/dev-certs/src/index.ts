export {
  type CertificateSet,
  type CertificateSetOptions,
  certificateSetPaths,
  generateCertificateSet,
  hasCertificateSet,
} from './generate-certificates.js';
