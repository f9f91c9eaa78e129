#!/usr/bin/env node
import { influxSinkEnvSchema } from '@qsm/config';
import { startInfluxSink } from '@qsm/roles/influx-sink';
import { runApp } from '@qsm/roles/run-app';

await runApp({
  role: 'influx-sink',
  defaultHttpPort: 9853,
  config: 'required',
  checkCertificates: false,
  connection: 'worker',
  defaultNice: 5,
  env: influxSinkEnvSchema,
  start: async (context, env) => [await startInfluxSink(context, env)],
});
