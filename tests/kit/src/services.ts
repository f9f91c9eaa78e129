/** Where the local services script (`scripts/services.sh`) runs the shared services. */
export const services = {
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  mqttUrl: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  influxUrl: process.env.INFLUX_URL ?? 'http://127.0.0.1:8086',
  victoriaMetricsUrl: process.env.VM_URL ?? 'http://127.0.0.1:8428',
};
