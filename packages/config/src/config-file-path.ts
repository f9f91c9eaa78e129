import { ConfigError } from './config-error.js';

/** The config file named by `--config <file>` (or `-c`, as in Butler SOS) or by `CONFIG_FILE`. */
export function configFilePath(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--config' || arg === '-c' || arg === '--configfile') {
      const value = argv[i + 1];
      if (value) return value;
    }
    const inline = /^--config(?:file)?=(.+)$/.exec(arg);
    if (inline?.[1]) return inline[1];
  }
  if (env.CONFIG_FILE) return env.CONFIG_FILE;
  throw new ConfigError('command line', [
    {
      path: 'env.CONFIG_FILE',
      message: 'required: pass --config <file> or set CONFIG_FILE to a Butler SOS YAML file',
    },
  ]);
}
