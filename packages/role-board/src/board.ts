import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BoardEnv } from '@qsm/config';
import { listenFailure, type ProcessContext, type RunningRole } from '@qsm/host';
import { createBoardApp } from './board-app.js';

/** Serves Bull Board on BOARD_HOST:BOARD_PORT until stopped. */
export async function startBoard(context: ProcessContext, env: BoardEnv): Promise<RunningRole> {
  // The environment's check made sure there is a login unless the board is open on this machine only.
  const credentials =
    env.BOARD_USERNAME && env.BOARD_PASSWORD
      ? { username: env.BOARD_USERNAME, password: env.BOARD_PASSWORD }
      : undefined;
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
  return {
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
  };
}
