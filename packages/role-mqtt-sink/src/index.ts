export { brokerUrl, startMqttSink } from './mqtt-sink.js';
