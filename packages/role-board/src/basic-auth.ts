import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * HTTP basic auth for every route of the board, its JSON API included. Credentials are compared in
 * constant time (on their SHA-256, so that lengths do not leak either).
 */
export function basicAuth(
  username: string,
  password: string,
  realm = 'Qlik Session Monitor',
): RequestHandler {
  const expected = digest(`${username}:${password}`);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+(.+)$/i.exec(header);
    const given = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    if (match && timingSafeEqual(digest(given), expected)) return next();
    res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    res.status(401).type('text/plain').send('Authentication required\n');
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
