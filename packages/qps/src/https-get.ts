import type { IncomingHttpHeaders } from 'node:http';
import { type Agent, request } from 'node:https';
import { decodeBody, ResponseTooLargeError } from './response-body.js';

export interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The whole-request deadline passed. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/**
 * One GET over a kept-alive agent, with a deadline for the whole exchange (a body that trickles in
 * does not reset it), a body size limit (also once decompressed), no redirects followed, and a caller's
 * abort signal. Node's https directly: this is the poller's hot path, and an HTTP client library's
 * per-request machinery (config merging, interceptors, signal composition) cost more CPU than the
 * request itself.
 * Errors keep Node's codes and say whether the socket was a reused one (`request.reusedSocket`).
 */
export function httpsGet(
  url: string,
  options: {
    agent: Agent;
    headers: Record<string, string>;
    timeoutMs: number;
    maxBytes: number;
    signal?: AbortSignal;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = request(url, { method: 'GET', agent: options.agent, headers: options.headers });
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      Object.assign(error, { request: { reusedSocket: req.reusedSocket } });
      req.destroy();
      reject(error);
    };
    const onAbort = () => fail(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const timer = setTimeout(
      () => fail(new DeadlineError(`no complete answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          fail(new ResponseTooLargeError(`body larger than ${options.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      const finish = (body: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      };
      res.on('end', () => {
        if (settled) return;
        const raw = Buffer.concat(chunks);
        const encoding = res.headers['content-encoding'];
        // The usual answer is not encoded: no detour through a promise on the hot path.
        if (encoding === undefined) finish(raw.toString('utf8'));
        else decodeBody(raw, encoding, options.maxBytes).then(finish, fail);
      });
      res.on('error', fail);
      res.on('aborted', () => fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
    });
    req.on('error', fail);
    req.end();
  });
}
