export {
  computeSiteFigures,
  MAX_PLACES_LISTED_PER_USER,
  MAX_USERS_AT_LIMIT_LISTED,
  type SiteFigures,
  type SiteFiguresInput,
} from './compute-site-figures.js';
export {
  type DecodedProxySummary,
  decodeProxySummary,
  encodeProxySummary,
  type ProxySummary,
  summarizeSessions,
  type UserSessionCount,
} from './proxy-summary.js';
