import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';

/** The body went past the size limit (before or after decompression); the connection was closed. */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

/**
 * The body came with a Content-Encoding that cannot be undone: unknown (the same request gets the same
 * answer, `retryable` false) or corrupt (a body cut short can be a passing fault, `retryable` true).
 */
export class UndecodableBodyError extends Error {
  override readonly name = 'UndecodableBodyError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

type Decoder = (body: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>;

const gunzipAsync: Decoder = promisify(gunzip);
const inflateAsync: Decoder = promisify(inflate);
const inflateRawAsync: Decoder = promisify(inflateRaw);

const DECODERS: Record<string, Decoder> = {
  gzip: gunzipAsync,
  'x-gzip': gunzipAsync,
  // "deflate" is meant to be zlib-wrapped, but some servers send raw deflate: the header byte tells.
  deflate: (body, options) =>
    ((body[0] ?? 0) & 0x0f) === 0x08 ? inflateAsync(body, options) : inflateRawAsync(body, options),
  br: promisify(brotliDecompress),
};

/**
 * The body as text, after undoing its Content-Encoding. We never ask for compression (no
 * Accept-Encoding), but a proxy in front of QPS may compress anyway, and Butler SOS's HTTP client
 * accepts that. The inflated size is held to `maxBytes` too, so a small compressed body cannot blow up.
 */
export async function decodeBody(
  raw: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<string> {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let body = raw;
  // Codings are listed in the order they were applied: undo the last first.
  for (const coding of codings.reverse()) {
    const decode = DECODERS[coding];
    if (!decode) {
      throw new UndecodableBodyError(
        `the answer is encoded with "${coding}", which cannot be decoded`,
        false,
      );
    }
    try {
      body = await decode(body, { maxOutputLength: maxBytes });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') {
        throw new ResponseTooLargeError(`body larger than ${maxBytes} bytes once ${coding}-decoded`);
      }
      throw new UndecodableBodyError(`the ${coding}-encoded body cannot be decoded: ${e.message}`, true);
    }
  }
  return body.toString('utf8');
}
