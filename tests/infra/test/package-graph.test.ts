import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';

/*
 * The architecture as the package manifests declare it, checked on the installed tree: apps are thin and
 * sit on top, packages never depend on apps or tests, and a process loads only the libraries of its role.
 */

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const workspaceDirs = ['apps', 'packages', 'tests'].flatMap((top) =>
  readdirSync(path.join(repoRoot, top))
    .map((name) => path.join(repoRoot, top, name))
    .filter((dir) => existsSync(path.join(dir, 'package.json'))),
);
const manifests = new Map(
  workspaceDirs.map((dir) => {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
    return [manifest.name, { dir: path.relative(repoRoot, dir), manifest }];
  }),
);

/** Where Node would find `name` from `fromDir`: the nearest node_modules up the tree (pnpm links each). */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** Every package a production install of `dir` loads, by name: its dependencies, theirs, and so on. */
function productionTree(dir: string): Set<string> {
  const seen = new Set<string>();
  const visit = (packageDirectory: string) => {
    const manifest = JSON.parse(
      readFileSync(path.join(packageDirectory, 'package.json'), 'utf8'),
    ) as Manifest;
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      if (seen.has(name)) continue;
      seen.add(name);
      const found = packageDir(name, packageDirectory);
      if (found) visit(found);
    }
  };
  visit(path.join(repoRoot, dir));
  return seen;
}

describe('the package graph', () => {
  it('points one way: packages never depend on apps or on test packages', () => {
    for (const { dir, manifest } of manifests.values()) {
      if (!dir.startsWith('packages/')) continue;
      for (const name of Object.keys(manifest.dependencies ?? {})) {
        const target = manifests.get(name);
        if (target) expect(target.dir, `${manifest.name} -> ${name}`).toMatch(/^packages\//);
      }
    }
  });

  it('keeps the InfluxDB and MQTT libraries out of the poller and the scheduler', () => {
    // The walk finds them where they belong, so their absence below means something.
    expect(productionTree('apps/influx-sink').has('@influxdata/influxdb-client')).toBe(true);
    expect(productionTree('apps/mqtt-sink').has('mqtt')).toBe(true);
    for (const dir of ['apps/poller', 'packages/role-poller', 'apps/scheduler', 'packages/role-scheduler']) {
      const tree = productionTree(dir);
      expect(tree.has('@qsm/config'), `${dir} loads the config`).toBe(true);
      for (const library of ['@influxdata/influxdb-client', 'mqtt', '@qsm/influx', '@qsm/mqtt']) {
        expect(tree.has(library), `${dir} must not load ${library}`).toBe(false);
      }
    }
  });

  it('keeps the web server of the board out of the workers', () => {
    for (const dir of ['apps/poller', 'apps/influx-sink', 'apps/mqtt-sink', 'apps/scheduler']) {
      const tree = productionTree(dir);
      for (const library of ['express', '@bull-board/api']) {
        expect(tree.has(library), `${dir} must not load ${library}`).toBe(false);
      }
    }
  });

  it('declares every built app or package a test runs, so that turbo builds it before the test', () => {
    // What a test runs from another workspace's dist/ (through the test kit or by path) is built first
    // only when the test's package depends on it: `turbo run test` depends on `^build`.
    const appPackages = new Map(
      [...manifests.values()]
        .filter(({ dir }) => dir.startsWith('apps/'))
        .map(({ dir, manifest }) => [path.basename(dir), manifest.name]),
    );
    const runs = (source: string): string[] => [
      ...[...source.matchAll(/\b(?:startApp|appMain)\(\s*'([\w-]+)'/g)].map(
        (m) => appPackages.get(m[1] ?? '') ?? `apps/${m[1]}`,
      ),
      ...(/\bstartSimulator\(/.test(source) ? ['@qsm/qps-sim'] : []),
      ...[...source.matchAll(/\bapps\/([\w-]+)\/dist\b/g)].map(
        (m) => appPackages.get(m[1] ?? '') ?? `apps/${m[1]}`,
      ),
      ...[...source.matchAll(/\bpackages\/([\w-]+)\/dist\b/g)].map((m) => `@qsm/${m[1]}`),
    ];
    const testFiles = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const file = path.join(dir, name);
        if (name === 'node_modules' || name === 'dist') return [];
        if (statSync(file).isDirectory()) return testFiles(file);
        return /\.test\.ts$/.test(name) ? [file] : [];
      });
    const missing: string[] = [];
    for (const { dir, manifest } of manifests.values()) {
      const declared = new Set([
        manifest.name,
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.devDependencies ?? {}),
      ]);
      for (const file of testFiles(path.join(repoRoot, dir))) {
        // The Dockerfile test reads the image's command, it does not run the app.
        const source = readFileSync(file, 'utf8').replace(
          /\[\s*'node',\s*'apps\/[\w-]+\/dist\/main\.js'\s*\]/g,
          '',
        );
        for (const name of runs(source))
          if (!declared.has(name)) missing.push(`${path.relative(repoRoot, file)} runs ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
