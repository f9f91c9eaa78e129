import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody, ResponseTooLargeError, UndecodableBodyError } from './response-body.js';

const LIST = JSON.stringify([{ UserDirectory: 'LAB', UserId: 'anna', SessionId: 's1' }]);
const raw = Buffer.from(LIST);

describe('decodeBody', () => {
  it.each([
    ['no Content-Encoding', undefined, raw],
    ['identity', 'identity', raw],
    ['gzip', 'gzip', gzipSync(raw)],
    ['x-gzip', 'X-GZIP', gzipSync(raw)],
    ['zlib-wrapped deflate', 'deflate', deflateSync(raw)],
    ['raw deflate, as some servers send it', 'deflate', deflateRawSync(raw)],
    ['brotli', 'br', brotliCompressSync(raw)],
    ['two codings, undone last first', 'deflate, gzip', gzipSync(deflateSync(raw))],
  ])('reads a body with %s', async (_name, encoding, body) => {
    expect(await decodeBody(body, encoding, 1024)).toBe(LIST);
  });

  it('refuses a small compressed body that inflates past the size limit', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(decodeBody(bomb, 'gzip', 1024 * 1024)).rejects.toBeInstanceOf(ResponseTooLargeError);
  });

  it('says a corrupt or cut-short compressed body may come right on a retry', async () => {
    const error = await decodeBody(gzipSync(raw).subarray(0, 20), 'gzip', 1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecodableBodyError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringMatching(/gzip-encoded body/) });
  });

  it('says an unknown coding will not come right on a retry', async () => {
    const error = await decodeBody(raw, 'zstd', 1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecodableBodyError);
    expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(/"zstd"/) });
  });
});
