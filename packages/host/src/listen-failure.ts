/** Where a server of the app listens, and the variables that set it (`HTTP_HOST`/`HTTP_PORT`). */
export interface ListenSetting {
  host: string;
  port: number;
  hostVariable: string;
  portVariable: string;
}

/**
 * The error to report when a server cannot listen, naming the variable to change: two apps on one
 * machine both take their default port, which Node reports only as `listen EADDRINUSE`.
 */
export function listenFailure(error: unknown, at: ListenSetting): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${at.host}:${at.port}`;
  if (code === 'EADDRINUSE')
    return new Error(
      `env.${at.portVariable}: ${where} is already in use (another app on this machine?): set ${at.portVariable} to a free port, or 0 for any`,
    );
  if (code === 'EACCES')
    return new Error(
      `env.${at.portVariable}: no permission to listen on ${where} (ports below 1024 need privileges): set ${at.portVariable} to 1024 or above`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new Error(
      `env.${at.hostVariable}: ${at.host} is not an address of this machine: set ${at.hostVariable} to one of its addresses, or 0.0.0.0 for all`,
    );
  return error instanceof Error ? error : new Error(String(error));
}
