import { connect } from 'node:net';

/** What a TCP connection attempt found: the port answered, or why it did not. */
export type TcpProbe =
  | { reachable: true }
  | { reachable: false; reason: 'timeout' }
  | { reachable: false; reason: 'error'; code: string | undefined; message: string };

/** Opens a TCP connection to `host:port` and closes it at once: is something listening there? */
export function probeTcp(host: string, port: number, timeoutMs = 1000): Promise<TcpProbe> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (probe: TcpProbe) => {
      socket.destroy();
      resolve(probe);
    };
    socket.setTimeout(timeoutMs, () => done({ reachable: false, reason: 'timeout' }));
    socket.once('connect', () => done({ reachable: true }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ reachable: false, reason: 'error', code: error.code, message: error.message }),
    );
  });
}
