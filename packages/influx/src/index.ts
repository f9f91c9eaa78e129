export { createBlacklist } from './blacklist.js';
export { createInfluxWriter, type InfluxConnectionOverrides } from './create-writer.js';
export { durationSeconds } from './duration.js';
export { buildErrorLine, buildRepositoryErrorLine } from './error-lines.js';
export { InfluxWriteError, parseInfluxError } from './influx-write-error.js';
export type { InfluxWriter } from './influx-writer.js';
export { type BatcherSettings, createPointBatcher, type PointBatcher } from './point-batcher.js';
export { buildSessionEventLines, type SessionEventPointOptions } from './session-event-lines.js';
export {
  buildSessionLineGroups,
  buildSessionLines,
  type InfluxVersion,
  type SessionPointOptions,
  sessionIdHasher,
  uniqueUserList,
} from './session-lines.js';
export { buildSiteFigureLines } from './site-figure-lines.js';
export { buildUserEventLines, type UserEventPointOptions } from './user-event-lines.js';
export { quoteIdentifier } from './v1-writer.js';
