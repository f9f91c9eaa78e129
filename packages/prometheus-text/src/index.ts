export { metricValue } from './metric-value.js';
