/** `['Butler-SOS', 'servers', 1, 'host']` -> `Butler-SOS.servers[1].host`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** Every issue of a failed zod parse on one line, each with the path it is at: `sessions[2]: UserId must be a string, got nothing`. */
export function formatIssues(
  issues: ReadonlyArray<{ message: string; path: ReadonlyArray<PropertyKey> }>,
): string {
  return issues
    .map((i) => (i.path.length > 0 ? `${formatPath(i.path)}: ${i.message}` : i.message))
    .join('; ');
}
