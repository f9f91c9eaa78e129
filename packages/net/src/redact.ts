/**
 * `redis://:secret@host` -> `redis://:***@host`, for logs and errors. A user without a password is
 * hidden too (`https://token@host` -> `https://***@host`), as `redactUrlsInText` does; an unparsable URL is
 * not shown at all.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    else if (parsed.username) parsed.username = '***';
    return parsed.toString();
  } catch {
    return '(invalid url)';
  }
}

/**
 * Removes credentials from every URL inside a text (an error message, a stack): `redis://:pw@host` ->
 * `redis://:***@host`, `mqtt://user:pw@broker` -> `mqtt://user:***@broker`, and a user alone
 * (`https://token@host`, often a secret itself) -> `https://***@host`.
 */
export function redactUrlsInText(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*)(:[^/@\s]*)?@/gi,
    (_m, scheme: string, user: string, pass?: string) => (pass ? `${scheme}${user}:***@` : `${scheme}***@`),
  );
}
