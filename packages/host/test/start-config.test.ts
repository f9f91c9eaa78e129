import { describe, expect, it } from 'vitest';
import { loadStartConfig } from '../src/start-config.js';
import { captureLogger } from './capture-logger.js';

describe('the config at start', () => {
  it('is not looked for by an app that needs none', () => {
    const { logger, lines } = captureLogger();
    const config = loadStartConfig({ config: 'none', checkCertificates: false, logger, argv: [], env: {} });
    expect(config).toEqual({ kind: 'none' });
    expect(lines).toEqual([]);
  });

  it('refuses to start without a config file named, saying where to name it', () => {
    const { logger, lines } = captureLogger();
    const config = loadStartConfig({
      config: 'required',
      checkCertificates: false,
      logger,
      argv: [],
      env: {},
    });
    expect(config).toEqual({ kind: 'invalid' });
    expect(lines.at(-1)).toMatchObject({
      level: 60,
      msg: '1 config problem(s) in command line: not starting',
    });
    expect(lines.at(0)?.msg).toContain('CONFIG_FILE');
  });

  it('refuses to start with a file it cannot read, naming the file', () => {
    const { logger, lines } = captureLogger();
    const config = loadStartConfig({
      config: 'required',
      checkCertificates: false,
      logger,
      argv: ['--config', '/nonexistent/butler-sos.yaml'],
      env: { CONFIG_FILE: '/elsewhere.yaml' },
    });
    expect(config).toEqual({ kind: 'invalid' });
    expect(lines.at(0)).toMatchObject({ level: 50, source: '/nonexistent/butler-sos.yaml' });
    expect(lines.at(0)?.msg).toContain('cannot read the file');
  });
});
