#!/usr/bin/env node
import { mqttSinkEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/host';
import { startMqttSink } from '@qsm/role-mqtt-sink';

await runApp({
  role: 'mqtt-sink',
  defaultHttpPort: 9854,
  config: 'required',
  checkCertificates: false,
  connection: 'worker',
  defaultNice: 5,
  env: mqttSinkEnvSchema,
  start: async (context, env) => [await startMqttSink(context, env)],
});
