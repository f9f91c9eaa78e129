export {
  createMqttPublisher,
  type MqttConnectionSettings,
  MqttPublishError,
  type MqttPublisher,
} from './mqtt-publisher.js';
export { buildSessionPayload, buildSessionTopic, sanitizeTopic } from './session-topic.js';
