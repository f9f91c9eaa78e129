export {
  createLogger,
  type Logger,
  type LoggerSettings,
  REDACTED_PATHS,
  serializeError,
} from './create-logger.js';
export { flushLogs } from './stdout-stream.js';
