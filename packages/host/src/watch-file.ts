import { type Stats, unwatchFile, watchFile } from 'node:fs';

/**
 * Calls `onChange` after the file changed on disk (content or replacement by an editor or a
 * Kubernetes ConfigMap update). Polls the file's stat, which also works on bind mounts where inotify
 * events never arrive.
 */
export function watchConfigFile(file: string, onChange: () => void, intervalMs = 1000): () => void {
  const listener = (current: Stats, previous: Stats) => {
    if (
      current.mtimeMs !== previous.mtimeMs ||
      current.size !== previous.size ||
      current.ino !== previous.ino
    )
      onChange();
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}
