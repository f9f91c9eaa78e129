import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
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
});
