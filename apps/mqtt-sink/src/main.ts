#!/usr/bin/env node
import { mqttSinkEnvSchema } from '@qsm/config';
import { startMqttSink } from '@qsm/roles/mqtt-sink';
import { runApp } from '@qsm/roles/run-app';

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
