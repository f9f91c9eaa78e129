export { startInfluxSink } from './influx-sink.js';
