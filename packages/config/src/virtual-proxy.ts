/**
 * Butler SOS pastes the prefix into the URL verbatim, so `hdr` becomes `/qpshdr/session` and `/hdr/`
 * becomes `/qps/hdr//session`. We accept only the two forms that give a correct URL.
 * Returns an error sentence, or undefined when the prefix is fine.
 */
export function checkVirtualProxyPrefix(prefix: string): string | undefined {
  if (prefix === '/') return undefined;
  if (!prefix.startsWith('/')) return `must be "/" or start with "/" (write "/${prefix}")`;
  if (prefix.endsWith('/')) return `must not end with "/" (write "${prefix.replace(/\/+$/, '')}")`;
  const name = prefix.slice(1);
  if (name.includes('/')) return 'must be a single path segment ("/name")';
  // Whitespace, control characters and URL delimiters cannot be part of a Qlik virtual proxy prefix.
  if (/[\s\u0000-\u001f\u007f?#%]/u.test(name))
    return 'must not contain spaces, control characters, "?", "#" or "%"';
  return undefined;
}
