import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listenFailure } from './listen-failure.js';

const at = { host: '127.0.0.1', port: 9852, hostVariable: 'HTTP_HOST', portVariable: 'HTTP_PORT' };

function listenError(port: number, host: string): Promise<unknown> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

describe('a server that cannot listen', () => {
  it('names the port variable when the port is taken', async () => {
    const first = createServer();
    await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
    const port = (first.address() as { port: number }).port;
    const error = await listenError(port, '127.0.0.1');
    first.close();
    expect(listenFailure(error, { ...at, port }).message).toBe(
      `env.HTTP_PORT: 127.0.0.1:${port} is already in use (another app on this machine?): set HTTP_PORT to a free port, or 0 for any`,
    );
  });

  it('names the host variable when the address is not this machine', async () => {
    const error = await listenError(0, '192.0.2.1');
    expect(listenFailure(error, { ...at, host: '192.0.2.1' }).message).toMatch(
      /^env\.HTTP_HOST: 192\.0\.2\.1 is not an address of this machine/,
    );
  });

  it('says when a low port needs privileges', () => {
    const error = Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES' });
    expect(listenFailure(error, { ...at, port: 80 }).message).toMatch(/^env\.HTTP_PORT: no permission/);
  });

  it('passes other errors on unchanged', () => {
    const error = new Error('something else');
    expect(listenFailure(error, at)).toBe(error);
  });
});
