import path from 'node:path';
import { repoRoot } from '@qsm/testkit';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { dockerfile, readText } from './infra-files.js';

/*
 * infra/Dockerfile, offline (no docker engine needed): valid for Docker's parser (dockerfile-utils), a build
 * stage that compiles the workspace and keeps production dependencies only, and a runtime stage that gets
 * the compiled apps and nothing else, runs as a non-root user and checks its own health.
 */

const text = readText(dockerfile);

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** The instructions of a Dockerfile, continuation lines joined, comments left out. */
function instructions(source: string): Instruction[] {
  const result: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  source.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (pending && line.trim().startsWith('#')) return;
    const continued = line.endsWith('\\');
    const part = continued ? line.slice(0, -1) : line;
    pending = pending
      ? { ...pending, text: `${pending.text} ${part.trim()}` }
      : { text: part, line: index + 1 };
    if (!continued) {
      const match = /^\s*(\S+)\s*(.*)$/.exec(pending.text);
      result.push({ keyword: (match?.[1] ?? '').toUpperCase(), args: match?.[2] ?? '', line: pending.line });
      pending = undefined;
    }
  });
  return result;
}

const all = instructions(text);
const stages: Array<{ from: string; name: string | undefined; body: Instruction[] }> = [];
for (const instruction of all) {
  if (instruction.keyword === 'FROM') {
    const [image = '', as, name] = instruction.args.split(/\s+/);
    stages.push({ from: image, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
  } else stages.at(-1)?.body.push(instruction);
}
const build = stages[0]!;
const runtime = stages.at(-1)!;
const of = (stage: (typeof stages)[number], keyword: string) =>
  stage.body.filter((i) => i.keyword === keyword);
const runs = (stage: (typeof stages)[number]) =>
  of(stage, 'RUN')
    .map((i) => i.args)
    .join('\n');

describe('infra/Dockerfile', () => {
  it('is valid for Docker: no diagnostics from dockerfile-utils', () => {
    const diagnostics = validate(text);
    expect(diagnostics.map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('has a build stage and a runtime stage, both on node:24-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.from).toBe('node:24-bookworm-slim');
    expect(build.name).toBe('build');
    expect(runtime.from).toMatch(/^node:24(-|$)/);
    expect(runtime.from).toBe('node:24-bookworm-slim');
  });

  it('builds with pnpm 12.4.2 from the lockfile, then keeps production dependencies only', () => {
    const script = runs(build);
    expect(script).toMatch(/npm (i|install) -g pnpm@12\.4\.2/);
    expect(script).toMatch(/pnpm install [^\n]*--frozen-lockfile/);
    expect(script).toMatch(/pnpm build/);
    expect(of(build, 'ENV').map((i) => i.args)).toContainEqual(
      expect.stringMatching(/TURBO_TELEMETRY_DISABLED=1/),
    );
    // After the build: node_modules removed and installed again with --prod (no TypeScript, vitest, turbo...).
    const runList = of(build, 'RUN');
    const built = runList.findIndex((i) => /pnpm build/.test(i.args));
    const prod = runList.findIndex((i) => /pnpm install [^\n]*--prod/.test(i.args));
    expect(built).toBeGreaterThanOrEqual(0);
    expect(prod).toBeGreaterThan(built);
    expect(runList[prod]!.args).toMatch(/find \. -name node_modules [^\n]*rm -rf|rm -rf [^\n]*node_modules/);
    expect(runList[prod]!.args).toMatch(/--frozen-lockfile/);
  });

  it('puts only package.json, dist and production node_modules of the apps and packages in the runtime tree', () => {
    const assemble = of(build, 'RUN').find((i) => i.args.includes('/out'));
    expect(assemble, 'a RUN that assembles /out').toBeDefined();
    const script = assemble!.args;
    expect(script).toMatch(/for dir in apps\/\* packages\/\*/);
    const copied = [...script.matchAll(/cp -a ([^;]*?)(?:"?\/out[^;]*);/g)].map((m) => m[1]);
    const sources = copied.join(' ');
    expect(sources).toMatch(/package\.json/);
    expect(sources).toMatch(/\$dir\/dist/);
    expect(sources).toMatch(/node_modules/);
    expect(sources).not.toMatch(/\bsrc\b|\btests?\b|tsconfig/);
    // Tests compiled into dist do not go either, nor anything under tests/ (the test kit included).
    expect(script).toMatch(/-name '\*\.test\.\*'/);
    expect(script).not.toMatch(/tests\//);
  });

  it('copies into the runtime stage from the build stage only, nothing from the build context', () => {
    const copies = of(runtime, 'COPY').concat(of(runtime, 'ADD'));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      expect(copy.keyword, copy.args).toBe('COPY');
      expect(copy.args, `line ${copy.line}`).toMatch(/^--from=build\s/);
      const paths = copy.args.split(/\s+/).filter((a) => !a.startsWith('--'));
      for (const source of paths.slice(0, -1)) expect(source).not.toMatch(/(^|\/)(src|tests?)(\/|$)/);
    }
  });

  it('runs as the non-root node user in /app, in production mode, logging JSON, listening on all interfaces', () => {
    const users = of(runtime, 'USER').map((i) => i.args.trim());
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(users.at(-1)).toBe('node');
    expect(of(runtime, 'WORKDIR').map((i) => i.args)).toEqual(['/app']);
    const env = of(runtime, 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/LOG_FORMAT=json/);
    expect(env).toMatch(/HTTP_HOST=0\.0\.0\.0/);
  });

  it("checks health with node itself on the app's HTTP_PORT /healthz", () => {
    const checks = of(runtime, 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const check = checks[0]!.args;
    expect(check).toMatch(/CMD \["node", "-e", /);
    expect(check).toMatch(/\/healthz/);
    expect(check).toMatch(/process\.env\.HTTP_PORT/);
    expect(check).not.toMatch(/curl|wget/);
  });

  it('runs the all-in-one app by default', () => {
    const cmd = of(runtime, 'CMD');
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0]!.args)).toEqual(['node', 'apps/all-in-one/dist/main.js']);
  });
});

describe('.dockerignore (repository root, the build context)', () => {
  const ignore = readText(path.join(repoRoot, '.dockerignore'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps local installs, builds, git, secrets and certificates out of the context', () => {
    for (const pattern of [
      '**/node_modules',
      '**/dist',
      '.git',
      '**/.env',
      '**/*.pem',
      '.dev-certs',
      '.services',
    ])
      expect(ignore).toContain(pattern);
  });

  it('keeps what the build needs: manifests, lockfile, sources, the Dockerfile', () => {
    const needed = [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'tsconfig.base.json',
      'turbo.json',
    ];
    for (const file of needed) expect(ignore.some((p) => p === file || p === `/${file}`)).toBe(false);
    for (const dir of ['apps', 'packages', 'apps/*/src', 'packages/*/src']) expect(ignore).not.toContain(dir);
    // infra/ is left out, but not the Dockerfile (older builders need it in the context).
    if (ignore.includes('infra')) expect(ignore).toContain('!infra/Dockerfile');
  });
});
