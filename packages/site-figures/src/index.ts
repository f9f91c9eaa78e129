export { computeSiteFigures, type SiteFigures, type SiteFiguresInput } from './compute-site-figures.js';
export {
  type DecodedProxySummary,
  decodeProxySummary,
  encodeProxySummary,
  type ProxySummary,
  summarizeSessions,
  type UserSessionCount,
} from './proxy-summary.js';
