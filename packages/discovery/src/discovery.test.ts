import {
  type DiscoverySettings,
  discoveryEnvSchema,
  inQueueShard,
  readDiscoverySettings,
  readEnvironment,
  type ServerSettings,
  type Settings,
  settingsForQueueShard,
  validateConfig,
} from '@qsm/config';
import type { RepositoryProxyNode, RepositoryTopology } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import {
  formatProposals,
  listAllPollTargets,
  proposeVirtualProxies,
  resolveDiscoveredTargets,
} from './index.js';

/** The site of the reference example: a central node with the default and a SAML proxy, one rim node. */
const central: RepositoryProxyNode = {
  name: 'Central',
  hostName: 'sense1.corp.example',
  restListenPort: 4243,
  virtualProxies: [
    { id: 'vp-finance', prefix: 'finance', description: 'Finance SAML', sessionInactivityTimeoutMinutes: 60 },
    {
      id: 'vp-default',
      prefix: '',
      description: 'Central Proxy (Default)',
      sessionInactivityTimeoutMinutes: 30,
    },
  ],
};
const rim: RepositoryProxyNode = {
  name: 'rim1',
  hostName: 'sense2.corp.example',
  restListenPort: 4243,
  virtualProxies: [{ id: 'vp-finance', prefix: 'finance', description: 'Finance SAML' }],
};
const site: RepositoryTopology = {
  nodes: [rim, central],
  unlinked: [{ id: 'vp-old', prefix: 'old', description: 'Retired' }],
};

interface ServerEntry {
  host?: string;
  serverName: string;
  serverDescription?: string;
  qpsHost: string;
  virtualProxies: string[];
  enable?: boolean;
  serverTags?: Record<string, string>;
}

/** A Butler SOS config as a user writes it, through the real loader. */
function configWith(servers: ServerEntry[], options: { tags?: string[]; sessions?: boolean } = {}): Settings {
  const data = {
    'Butler-SOS': {
      userSessions: {
        enableSessionExtract: options.sessions ?? true,
        pollingInterval: 30000,
        excludeUser: [],
      },
      serversToMonitor: {
        rejectUnauthorized: true,
        serverTagsDefinition: options.tags ?? [],
        servers: servers.map((s) => ({
          host: s.host ?? `${s.qpsHost.split(':')[0]}:4747`,
          serverName: s.serverName,
          serverDescription: s.serverDescription ?? '',
          userSessions: {
            enable: s.enable ?? true,
            host: s.qpsHost,
            virtualProxies: s.virtualProxies.map((virtualProxy) => ({ virtualProxy })),
          },
          serverTags: s.serverTags ?? null,
        })),
      },
      cert: { clientCert: 'client.pem', clientCertKey: 'client_key.pem', clientCertCA: 'root.pem' },
      appNames: { hostIP: 'sense1.corp.example' },
    },
  };
  return validateConfig(data, '/etc/qsm/config.yaml').settings;
}

function discoveryOf(settings: Settings, env: NodeJS.ProcessEnv = {}): DiscoverySettings {
  const found = readDiscoverySettings(
    readEnvironment(discoveryEnvSchema, { DISCOVERY_ENABLE: 'true', ...env }),
    settings,
  );
  if (!found) throw new Error('discovery is off');
  return found;
}

/** What a poller writes for a configured (server, virtual proxy): its identity, as in poll-handler. */
function configuredIdentity(server: ServerSettings, virtualProxy: string) {
  return {
    serverName: server.serverName,
    serverDescription: server.serverDescription,
    hostName: server.hostName,
    serverTags: server.serverTags,
    qpsHost: server.userSessions.host,
    virtualProxy,
  };
}

describe('discovered poll targets', () => {
  it('poll every (proxy node, linked virtual proxy): "" is the default proxy "/"', () => {
    const settings = configWith([]);
    const { targets, notes } = resolveDiscoveredTargets(settings, site, discoveryOf(settings));
    expect(targets).toEqual([
      {
        serverName: 'Central',
        serverDescription: '',
        hostName: 'sense1.corp.example',
        serverTags: {},
        qpsHost: 'sense1.corp.example:4243',
        virtualProxy: '/',
        node: 'Central',
        sessionInactivityTimeoutMinutes: 30,
      },
      {
        serverName: 'Central',
        serverDescription: '',
        hostName: 'sense1.corp.example',
        serverTags: {},
        qpsHost: 'sense1.corp.example:4243',
        virtualProxy: '/finance',
        node: 'Central',
        sessionInactivityTimeoutMinutes: 60,
      },
      {
        serverName: 'rim1',
        serverDescription: '',
        hostName: 'sense2.corp.example',
        serverTags: {},
        qpsHost: 'sense2.corp.example:4243',
        virtualProxy: '/finance',
        node: 'rim1',
      },
    ]);
    expect(notes).toEqual([
      {
        reason: 'unlinked',
        virtualProxy: '/old',
        message: 'virtual proxy /old (Retired) is linked to no proxy node: not polled',
      },
    ]);
  });

  it('carry the tags Butler SOS writes for the same site listed by hand', () => {
    const handWritten = configWith(
      [
        { serverName: 'Central', qpsHost: 'sense1.corp.example:4243', virtualProxies: ['/', '/finance'] },
        { serverName: 'rim1', qpsHost: 'sense2.corp.example:4243', virtualProxies: ['/finance'] },
      ].map((s) => ({ ...s, serverTags: { site: 'north', env: 'prod' } })),
      { tags: ['site', 'env'] },
    );
    const fromFile = handWritten.serversToMonitor.servers.flatMap((server) =>
      server.userSessions.virtualProxies.map((vp) => configuredIdentity(server, vp)),
    );
    const empty = configWith([], { tags: ['site', 'env'] });
    const { targets } = resolveDiscoveredTargets(
      empty,
      site,
      discoveryOf(empty, { DISCOVERY_SERVER_TAGS: 'env=prod,site=north' }),
    );
    expect(targets.map(({ node, sessionInactivityTimeoutMinutes, ...identity }) => identity)).toEqual(
      fromFile,
    );
  });

  it('merge with configured servers: a listed node keeps its identity and gains the proxies the file lacks', () => {
    const settings = configWith(
      [
        {
          host: 'sense1.corp.example:4747',
          serverName: 'sense1',
          serverDescription: 'Central node',
          qpsHost: 'SENSE1.corp.example:4243',
          virtualProxies: ['/', '/hdr'],
          serverTags: { site: 'hq' },
        },
      ],
      { tags: ['site'] },
    );
    const { targets } = resolveDiscoveredTargets(
      settings,
      site,
      discoveryOf(settings, { DISCOVERY_SERVER_TAGS: 'site=rim' }),
    );
    expect(
      targets.map((t) => [t.serverName, t.virtualProxy, t.qpsHost, t.serverDescription, t.serverTags]),
    ).toEqual([
      ['sense1', '/finance', 'SENSE1.corp.example:4243', 'Central node', { site: 'hq' }],
      ['rim1', '/finance', 'sense2.corp.example:4243', '', { site: 'rim' }],
    ]);
    expect(listAllPollTargets(settings, targets)).toEqual([
      { serverName: 'sense1', virtualProxy: '/', source: 'config' },
      { serverName: 'sense1', virtualProxy: '/hdr', source: 'config' },
      { serverName: 'sense1', virtualProxy: '/finance', source: 'repository', discovered: targets[0] },
      { serverName: 'rim1', virtualProxy: '/finance', source: 'repository', discovered: targets[1] },
    ]);
  });

  it('never repeat a configured (server, virtual proxy), whatever the case of its prefix', () => {
    const settings = configWith([
      { serverName: 'Central', qpsHost: 'sense1.corp.example:4243', virtualProxies: ['/', '/Finance'] },
    ]);
    const { targets } = resolveDiscoveredTargets(settings, site, discoveryOf(settings));
    expect(targets.map((t) => `${t.serverName}${t.virtualProxy}`)).toEqual(['rim1/finance']);
    const twice = [...targets, { ...targets[0]!, serverName: 'Central', virtualProxy: '/finance' }];
    expect(
      listAllPollTargets(settings, twice).map((t) => `${t.source} ${t.serverName}${t.virtualProxy}`),
    ).toEqual(['config Central/', 'config Central/Finance', 'repository rim1/finance']);
  });

  it('keep one target per server and virtual proxy, in the order found, however many there are', () => {
    const settings = configWith([]);
    const { targets } = resolveDiscoveredTargets(settings, site, discoveryOf(settings));
    const found = (serverName: string, virtualProxy: string) => ({
      ...targets[0]!,
      serverName,
      virtualProxy,
    });
    const many = Array.from({ length: 3000 }, (_, i) => found(`s${i % 30}`, `/vp${i % 1500}`));
    const all = listAllPollTargets(settings, [
      ...many,
      found('s1', '/VP1'),
      found('s1', '/vp1'),
      found('s2', '/vp1'),
    ]);
    expect(all).toHaveLength(1500 + 1);
    expect(all.slice(0, 3).map((t) => `${t.serverName}${t.virtualProxy}`)).toEqual([
      's0/vp0',
      's1/vp1',
      's2/vp2',
    ]);
    expect(all.at(-1)).toMatchObject({ serverName: 's2', virtualProxy: '/vp1', source: 'repository' });
  });

  it('keep out excluded prefixes and nodes (by QMC name or host name, any case)', () => {
    const settings = configWith([]);
    const byPrefix = resolveDiscoveredTargets(
      settings,
      site,
      discoveryOf(settings, { DISCOVERY_EXCLUDE_PREFIXES: '/FINANCE' }),
    );
    expect(byPrefix.targets.map((t) => `${t.node}${t.virtualProxy}`)).toEqual(['Central/']);
    expect(byPrefix.notes.filter((n) => n.reason === 'excluded-prefix')).toEqual([
      {
        reason: 'excluded-prefix',
        node: 'Central',
        virtualProxy: '/finance',
        message: 'virtual proxy /finance is in DISCOVERY_EXCLUDE_PREFIXES: not polled',
      },
      {
        reason: 'excluded-prefix',
        node: 'rim1',
        virtualProxy: '/finance',
        message: 'virtual proxy /finance is in DISCOVERY_EXCLUDE_PREFIXES: not polled',
      },
    ]);
    for (const excluded of ['RIM1', 'sense2.corp.example']) {
      const byNode = resolveDiscoveredTargets(
        settings,
        site,
        discoveryOf(settings, { DISCOVERY_EXCLUDE_NODES: excluded }),
      );
      expect(byNode.targets.map((t) => `${t.node}${t.virtualProxy}`)).toEqual([
        'Central/',
        'Central/finance',
      ]);
      expect(byNode.notes.map((n) => n.message)).toContain(
        'node rim1 (sense2.corp.example) is in DISCOVERY_EXCLUDE_NODES: not polled',
      );
    }
  });

  it('reach a node whose registered host does not resolve through its host override', () => {
    const settings = configWith([
      { serverName: 'sense1', qpsHost: '10.0.0.11:4243', virtualProxies: ['/'], serverDescription: 'by IP' },
    ]);
    const discovery = discoveryOf(settings, {
      DISCOVERY_HOST_OVERRIDES: 'sense1.corp.example=10.0.0.11,SENSE2.corp.example=10.0.0.12:14243',
    });
    const { targets } = resolveDiscoveredTargets(settings, site, discovery);
    expect(targets.map((t) => [t.serverName, t.virtualProxy, t.hostName, t.qpsHost])).toEqual([
      // The override matched the configured server: its identity, and /finance added.
      ['sense1', '/finance', '10.0.0.11', '10.0.0.11:4243'],
      // Not configured: polled where the override says, and tagged with that host as Butler SOS would.
      ['rim1', '/finance', '10.0.0.12', '10.0.0.12:14243'],
    ]);
  });

  it('leave out a node named as a configured server at another host, saying how to map it', () => {
    const settings = configWith([{ serverName: 'rim1', qpsHost: '10.0.0.12:4243', virtualProxies: ['/'] }]);
    const { targets, notes } = resolveDiscoveredTargets(settings, site, discoveryOf(settings));
    expect(targets.map((t) => `${t.serverName}${t.virtualProxy}`)).toEqual(['Central/', 'Central/finance']);
    expect(notes.find((n) => n.reason === 'name-taken')).toEqual({
      reason: 'name-taken',
      node: 'rim1',
      message:
        "node rim1 (QPS sense2.corp.example:4243) has the name of servers[0], whose QPS is 10.0.0.12:4243: not polled. If they are the same server, map the node's host with DISCOVERY_HOST_OVERRIDES=sense2.corp.example=<the host of servers[0]>",
    });
  });

  it('leave out prefixes that cannot be polled, servers with sessions off, and a second node at the same QPS', () => {
    const odd: RepositoryTopology = {
      nodes: [
        {
          ...central,
          virtualProxies: [...central.virtualProxies, { id: 'x', prefix: 'a/b', description: '' }],
        },
        { ...rim, name: 'rim1-alias', hostName: 'sense2.corp.example' },
        rim,
      ],
      unlinked: [],
    };
    const settings = configWith([
      { serverName: 'sense1', qpsHost: 'sense1.corp.example:4243', virtualProxies: ['/'], enable: false },
    ]);
    const discovery = discoveryOf(settings, {
      DISCOVERY_HOST_OVERRIDES: 'sense1.corp.example=sense1.corp.example',
    });
    const { targets, notes } = resolveDiscoveredTargets(settings, odd, discovery);
    expect(targets.map((t) => `${t.serverName}${t.virtualProxy}`)).toEqual([
      'rim1/finance',
      'rim1-alias/finance',
    ]);
    expect(notes.map((n) => n.reason)).toEqual(['sessions-off']);

    const unconfigured = configWith([]);
    const second = resolveDiscoveredTargets(
      unconfigured,
      { nodes: [odd.nodes[0]!, { ...odd.nodes[0]!, hostName: 'sense1b.corp.example' }], unlinked: [] },
      discoveryOf(unconfigured),
    );
    expect(second.targets.map((t) => `${t.serverName}${t.virtualProxy} ${t.qpsHost}`)).toEqual([
      'Central/ sense1.corp.example:4243',
      'Central/finance sense1.corp.example:4243',
    ]);
    expect(second.notes.map((n) => `${n.reason} ${n.node}${n.virtualProxy}`)).toEqual([
      'invalid-prefix Central/a/b',
      'duplicate Central/',
      'invalid-prefix Central/a/b',
      'duplicate Central/finance',
    ]);
    expect(second.notes[1]!.message).toBe(
      'node Central (QPS sense1b.corp.example:4243) and node Central (QPS sense1.corp.example:4243) are both server Central: / is polled once, at sense1.corp.example:4243',
    );
    expect(second.notes[0]!.message).toBe(
      'virtual proxy prefix "a/b" cannot be polled: /a/b must be a single path segment ("/name")',
    );
  });

  it('poll nothing when the file turns sessions off', () => {
    const settings = configWith([], { sessions: false });
    const { targets, notes } = resolveDiscoveredTargets(settings, site, discoveryOf(settings));
    expect(targets).toEqual([]);
    expect(notes.map((n) => n.reason)).toEqual(['unlinked', 'sessions-off']);
  });

  it('come out in the same order whatever order the repository lists them in', () => {
    const settings = configWith([]);
    const discovery = discoveryOf(settings);
    const shuffled: RepositoryTopology = {
      nodes: [{ ...central, virtualProxies: [...central.virtualProxies].reverse() }, rim],
      unlinked: site.unlinked,
    };
    expect(resolveDiscoveredTargets(settings, shuffled, discovery)).toEqual(
      resolveDiscoveredTargets(settings, site, discovery),
    );
  });

  it('need a value for every declared tag (a config error naming it)', () => {
    const settings = configWith([], { tags: ['site'] });
    expect(() => discoveryOf(settings)).toThrow(
      'env.DISCOVERY_SERVER_TAGS: missing "site" (declared in Butler-SOS.serversToMonitor.serverTagsDefinition)',
    );
  });
});

describe('virtualProxies proposals', () => {
  it('give each node the list to paste, with what it adds to and removes from the file', () => {
    const settings = configWith([
      { serverName: 'sense1', qpsHost: 'sense1.corp.example:4243', virtualProxies: ['/fin', '/'] },
      { serverName: 'gone', qpsHost: 'sense9.corp.example:4243', virtualProxies: ['/'] },
    ]);
    const { nodes, notes } = proposeVirtualProxies(settings, site, discoveryOf(settings));
    expect(nodes).toEqual([
      {
        node: 'Central',
        hostName: 'sense1.corp.example',
        qpsHost: 'sense1.corp.example:4243',
        server: { index: 0, serverName: 'sense1' },
        // Renamed in the QMC from fin to finance: one removal and one addition.
        virtualProxies: ['/', '/finance'],
        yaml: 'virtualProxies:\n  - virtualProxy: /\n  - virtualProxy: /finance\n',
        added: ['/finance'],
        removed: ['/fin'],
      },
      {
        node: 'rim1',
        hostName: 'sense2.corp.example',
        qpsHost: 'sense2.corp.example:4243',
        virtualProxies: ['/finance'],
        yaml: 'virtualProxies:\n  - virtualProxy: /finance\n',
        added: ['/finance'],
        removed: [],
      },
    ]);
    expect(notes).toEqual([
      {
        reason: 'not-in-repository',
        message:
          'servers[1] (gone, QPS sense9.corp.example:4243) matches no proxy node of the repository by its QPS host:port',
      },
    ]);
  });

  it('keep excluded prefixes out unless the file lists them, and skip excluded nodes', () => {
    const settings = configWith([
      { serverName: 'sense1', qpsHost: 'sense1.corp.example:4243', virtualProxies: ['/finance'] },
    ]);
    const discovery = discoveryOf(settings, {
      DISCOVERY_EXCLUDE_PREFIXES: '/,/finance',
      DISCOVERY_EXCLUDE_NODES: 'rim1',
    });
    const { nodes, notes } = proposeVirtualProxies(settings, site, discovery);
    expect(nodes.map((n) => [n.node, n.virtualProxies, n.added, n.removed])).toEqual([
      ['Central', ['/finance'], [], []],
    ]);
    expect(notes.map((n) => `${n.reason} ${n.node}${n.virtualProxy ?? ''}`)).toEqual([
      'excluded-prefix Central/',
      'excluded-node rim1',
    ]);
  });

  it('print as YAML to paste per node, with the changes and what was left out', () => {
    const settings = configWith([
      { serverName: 'sense1', qpsHost: 'sense1.corp.example:4243', virtualProxies: ['/fin', '/'] },
    ]);
    const proposals = proposeVirtualProxies(settings, site, discoveryOf(settings));
    expect(formatProposals('sense1.corp.example:4242', site, proposals)).toBe(
      [
        'discovery: the Qlik repository at sense1.corp.example:4242 has 2 proxy nodes, 1 unlinked virtual proxy',
        '',
        'node Central (sense1.corp.example), QPS sense1.corp.example:4243: servers[0] (sense1)',
        '  virtualProxies:',
        '    - virtualProxy: /',
        '    - virtualProxy: /finance',
        '  added: /finance',
        '  removed: /fin',
        '',
        'node rim1 (sense2.corp.example), QPS sense2.corp.example:4243: in no servers[] entry',
        '  virtualProxies:',
        '    - virtualProxy: /finance',
        '  added: /finance',
        '  removed: -',
        '',
        'note: virtual proxy /old (Retired) is linked to no proxy node',
      ].join('\n'),
    );
  });
});

describe('discovered poll targets of a queue shard', () => {
  const rim3: RepositoryProxyNode = {
    name: 'rim3',
    hostName: 'sense3.corp.example',
    restListenPort: 4243,
    virtualProxies: [{ id: 'vp-default', prefix: '', description: 'Default' }],
  };
  const wide: RepositoryTopology = { nodes: [central, rim, rim3], unlinked: [] };
  // sense1 (the Central node) is in shard 1 of 2, sense2 (the rim1 node) in shard 2.
  const file = configWith([
    { serverName: 'sense1', qpsHost: 'sense1.corp.example:4243', virtualProxies: ['/'] },
    { serverName: 'sense2', qpsHost: 'sense2.corp.example:4243', virtualProxies: ['/'] },
  ]);
  const key = (t: { serverName: string; virtualProxy: string }) => `${t.serverName} ${t.virtualProxy}`;

  it('split the whole set: every target in exactly one shard, by the name it is polled under', () => {
    const whole = resolveDiscoveredTargets(file, wide, discoveryOf(file)).targets.map(key);
    const shards = [1, 2].map((index) => {
      const settings = settingsForQueueShard(file, { index, count: 2 });
      const { targets } = resolveDiscoveredTargets(settings, wide, discoveryOf(settings));
      for (const t of targets) expect(inQueueShard({ index, count: 2 }, t.serverName)).toBe(true);
      return targets.map(key);
    });
    expect([...shards[0]!, ...shards[1]!].sort()).toEqual([...whole].sort());
    expect(shards[0]!.filter((k) => shards[1]!.includes(k))).toEqual([]);
  });

  it('recognise a server of another shard, and leave it to that shard rather than poll it by its QMC name', () => {
    const first = settingsForQueueShard(file, { index: 1, count: 2 });
    expect(first.serversToMonitor.servers.map((s) => s.serverName)).toEqual(['sense1']);
    const { targets } = resolveDiscoveredTargets(first, wide, discoveryOf(first));
    const names = targets.map((t) => t.serverName);
    expect(names).not.toContain('rim1');
    expect(names).not.toContain('sense2');
    expect(targets.filter((t) => t.serverName === 'sense1').map((t) => t.virtualProxy)).toEqual(['/finance']);
  });
});
