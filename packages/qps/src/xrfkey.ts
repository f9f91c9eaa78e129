import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh random 16-character alphanumeric Xrfkey (Qlik allows 0-9, a-z, A-Z). */
export function createXrfkey(): string {
  let key = '';
  while (key.length < 16) {
    for (const byte of randomBytes(24)) {
      // 248 = 4 * 62: rejecting larger bytes keeps every character equally likely.
      if (byte < 248 && key.length < 16) key += ALPHABET[byte % 62];
    }
  }
  return key;
}
