#!/usr/bin/env node
import { boardEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/host';
import { startBoard } from '@qsm/role-board';

await runApp({
  role: 'board',
  defaultHttpPort: 9855,
  connection: 'producer',
  config: 'none',
  env: boardEnvSchema,
  start: async (context, env) => [await startBoard(context, env)],
});
