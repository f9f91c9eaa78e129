export {
  createMqttPublisher,
  type MqttConnectionSettings,
  MqttPublishError,
  type MqttPublisher,
} from './mqtt-publisher.js';
export { buildSessionEventMessages, buildSessionEventTopic } from './session-event-messages.js';
export { buildSessionPayload, buildSessionTopic, sanitizeTopic } from './session-topic.js';
export { buildSiteFiguresMessage, buildSiteFiguresTopic } from './site-figures-message.js';
