import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { ALL_QUEUES, type QueueContext, type QueueName } from '@qsm/queues';
import express, { type Express } from 'express';
import { basicAuth } from './basic-auth.js';
import { BoardQueue, SCHEDULERS_LISTED_PER_QUEUE } from './board-queue.js';

export interface BoardOptions {
  queues: QueueContext;
  /** Required unless `open` (then the caller made sure the board only listens on loopback). */
  credentials?: { username: string; password: string } | undefined;
  readOnly: boolean;
  /** Where the board lives (`/` or `/queues`). */
  basePath: string;
}

const DESCRIPTIONS: Record<QueueName, string> = {
  poll: `One job per (server, virtual proxy) per polling interval, from one job scheduler each (the Schedulers view lists the first ${SCHEDULERS_LISTED_PER_QUEUE})`,
  'sink-influx':
    'Poll results and poll errors on their way to InfluxDB: one job per poll, or one per group of polls that finished together; session events (session-events jobs)',
  'sink-mqtt': 'Poll results and session events on their way to the MQTT broker',
  discovery:
    'Reads of the Qlik repository that find the virtual proxies to poll (DISCOVERY_ENABLE); a failed read shows its error here',
  'session-track':
    'Successful polls (who had which session) and retired proxies on their way to the tracker, which derives session start and end events (SESSION_TRACKING)',
};

/**
 * Bull Board over every queue of the product, behind basic auth. Failed jobs show their error as the
 * workers threw it: `<category>: <message>` (e.g. `certificate_error: ...`).
 */
export function createBoardApp(options: BoardOptions): { app: Express; queues: BoardQueue[] } {
  const queues = ALL_QUEUES.map((name) => new BoardQueue(name, options.queues));
  const serverAdapter = new ExpressAdapter();
  const basePath = options.basePath.replace(/\/+$/, '') || '';
  serverAdapter.setBasePath(basePath || '/');
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode: options.readOnly,
          description: DESCRIPTIONS[queue.name as QueueName] ?? '',
        }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Qlik Session Monitor', hideDocsLink: true } },
  });
  const app = express();
  app.disable('x-powered-by');
  if (options.credentials) app.use(basicAuth(options.credentials.username, options.credentials.password));
  app.use(basePath || '/', serverAdapter.getRouter());
  return { app, queues };
}
