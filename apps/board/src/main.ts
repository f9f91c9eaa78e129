#!/usr/bin/env node
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBoardApp, isLoopback } from '@qsm/board';
import { boardEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/roles/run-app';
import { listenFailure } from '@qsm/runtime';

await runApp({
  role: 'board',
  defaultHttpPort: 9855,
  connection: 'producer',
  config: 'none',
  env: boardEnvSchema,
  start: async (context, env) => {
    const credentials =
      env.BOARD_USERNAME && env.BOARD_PASSWORD
        ? { username: env.BOARD_USERNAME, password: env.BOARD_PASSWORD }
        : undefined;
    if (!credentials && !(env.BOARD_ALLOW_OPEN && isLoopback(env.BOARD_HOST))) {
      throw new Error(
        env.BOARD_ALLOW_OPEN
          ? `BOARD_ALLOW_OPEN only works with BOARD_HOST on this machine (127.0.0.1), not ${env.BOARD_HOST}: set BOARD_USERNAME and BOARD_PASSWORD`
          : 'the board needs a login: set BOARD_USERNAME and BOARD_PASSWORD (or BOARD_ALLOW_OPEN=true with BOARD_HOST=127.0.0.1)',
      );
    }
    const { app, queues } = createBoardApp({
      queues: context.queues,
      credentials,
      readOnly: env.BOARD_READ_ONLY,
      basePath: env.BOARD_BASE_PATH,
    });
    const server: Server = await new Promise((resolve, reject) => {
      const at = {
        host: env.BOARD_HOST,
        port: env.BOARD_PORT,
        hostVariable: 'BOARD_HOST',
        portVariable: 'BOARD_PORT',
      };
      const listening = app.listen(env.BOARD_PORT, env.BOARD_HOST, (error?: Error) =>
        error ? reject(listenFailure(error, at)) : resolve(listening),
      );
    });
    const { port } = server.address() as AddressInfo;
    context.logger.info(
      {
        url: `http://${env.BOARD_HOST}:${port}${env.BOARD_BASE_PATH}`,
        boardPort: port,
        readOnly: env.BOARD_READ_ONLY,
        login: credentials ? 'basic auth' : 'open (loopback only)',
      },
      'Bull Board listening',
    );
    return [
      {
        name: 'board',
        checks: async () => ({}),
        applySettings: async () => {},
        stop: async () => {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
          await Promise.all(queues.map((q) => q.close()));
        },
      },
    ];
  },
});
