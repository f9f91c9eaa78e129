import { describe, expect, it } from 'vitest';
import {
  buildTopology,
  InvalidRepositoryResponseError,
  parseProxyServices,
  parseVirtualProxyConfigs,
} from './parse-repository.js';

const condensed = (id: string, prefix: string, extra: Record<string, unknown> = {}) => ({
  id,
  prefix,
  description: `VP ${prefix}`,
  sessionCookieHeaderName: `X-Qlik-Session-${prefix}`,
  authenticationMethod: 0,
  loadBalancingServerNodes: [{ id: 'n1', name: 'Central', hostName: 'sense1' }],
  ...extra,
});

const service = (
  name: string,
  hostName: string,
  virtualProxies: unknown[],
  restListenPort: unknown = 4243,
) => ({
  id: `ps-${name}`,
  modifiedDate: '2025-03-01T10:00:00.000Z',
  serverNodeConfiguration: { id: `node-${name}`, name, hostName },
  settings: { listenPort: 443, allowHttp: false, restListenPort, virtualProxies, logVerbosity: { a: 1 } },
  customProperties: [],
});

function problem(parse: () => unknown): InvalidRepositoryResponseError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRepositoryResponseError);
    return error as InvalidRepositoryResponseError;
  }
  throw new Error('expected the parse to fail');
}

describe('parseProxyServices', () => {
  it('keeps what discovery needs and ignores every other field', () => {
    const services = parseProxyServices(
      JSON.stringify([
        service('Central', 'sense1.corp', [condensed('a', '', { sessionInactivityTimeout: 30 })]),
      ]),
    );
    expect(services).toEqual([
      {
        serverNodeConfiguration: { name: 'Central', hostName: 'sense1.corp' },
        settings: {
          restListenPort: 4243,
          virtualProxies: [{ id: 'a', prefix: '', description: 'VP ', sessionInactivityTimeout: 30 }],
        },
      },
    ]);
  });

  it('reads a body after a UTF-8 byte order mark', () => {
    expect(parseProxyServices(`\uFEFF${JSON.stringify([])}`)).toEqual([]);
  });

  it('names the path of a missing list', () => {
    const body = [service('a', 'h1', []), { ...service('b', 'h2', []), settings: { restListenPort: 4243 } }];
    expect(problem(() => parseProxyServices(JSON.stringify(body))).message).toBe(
      'proxyservice/full: [1].settings.virtualProxies: expected an array, got nothing',
    );
  });

  it('names the path of a wrong-typed field', () => {
    const body = [service('a', 'h1', [condensed('x', 'finance', { prefix: 7 })], '4243')];
    const message = problem(() => parseProxyServices(JSON.stringify(body))).message;
    expect(message).toContain(
      'proxyservice/full: [0].settings.restListenPort: expected a number, got a string ("4243")',
    );
    expect(message).toContain('[0].settings.virtualProxies[0].prefix: expected a string, got number 7');
  });

  it('refuses a port out of range', () => {
    const body = [service('a', 'h', [], 0)];
    expect(problem(() => parseProxyServices(JSON.stringify(body))).message).toMatch(
      /^proxyservice\/full: \[0\]\.settings\.restListenPort: .*, got number 0$/,
    );
  });

  it('refuses a node without a host name', () => {
    const body = [service('a', '', [])];
    expect(problem(() => parseProxyServices(JSON.stringify(body))).message).toBe(
      'proxyservice/full: [0].serverNodeConfiguration.hostName: expected a host name, got a string ("")',
    );
  });

  it('refuses an object, an HTML page and truncated JSON (only the last is worth retrying)', () => {
    const object = problem(() => parseProxyServices('{"error":"x"}'));
    expect(object.message).toBe('proxyservice/full: expected a JSON array, got an object');
    expect(object.retryable).toBe(false);
    const html = problem(() => parseProxyServices('<!DOCTYPE html><html></html>'));
    expect(html.message).toMatch(/^proxyservice\/full: got an HTML page/);
    const truncated = problem(() => parseProxyServices('[{"id":"a","sett'));
    expect(truncated.message).toMatch(/^proxyservice\/full: body is not valid JSON/);
    expect(truncated.retryable).toBe(true);
  });
});

describe('parseVirtualProxyConfigs', () => {
  it('accepts a null description and a missing timeout', () => {
    expect(
      parseVirtualProxyConfigs(JSON.stringify([{ id: 'a', prefix: 'x', description: null, extra: [1] }])),
    ).toEqual([{ id: 'a', prefix: 'x', description: null }]);
  });

  it('names the path of an item without an id', () => {
    expect(problem(() => parseVirtualProxyConfigs(JSON.stringify([{ prefix: 'x' }]))).message).toBe(
      'virtualproxyconfig/full: [0].id: expected a string, got nothing',
    );
  });
});

describe('buildTopology', () => {
  it('joins the nodes with the full configs and lists the virtual proxies no node links', () => {
    const services = parseProxyServices(
      JSON.stringify([
        service('Central', 'sense1', [
          condensed('d', '', { sessionInactivityTimeout: 30 }),
          condensed('f', 'finance', { sessionInactivityTimeout: 45 }),
        ]),
        service('rim1', 'sense2', [condensed('f', 'finance'), condensed('h', 'hdr')], 4299),
      ]),
    );
    const configs = parseVirtualProxyConfigs(
      JSON.stringify([
        { id: 'd', prefix: '', description: 'Default' },
        { id: 'f', prefix: 'finance', description: 'Finance', sessionInactivityTimeout: 60 },
        { id: 'o', prefix: 'old', description: 'Old', sessionInactivityTimeout: 10 },
      ]),
    );
    expect(buildTopology(services, configs)).toEqual({
      nodes: [
        {
          name: 'Central',
          hostName: 'sense1',
          restListenPort: 4243,
          virtualProxies: [
            { id: 'd', prefix: '', description: 'VP ', sessionInactivityTimeoutMinutes: 30 },
            { id: 'f', prefix: 'finance', description: 'VP finance', sessionInactivityTimeoutMinutes: 60 },
          ],
        },
        {
          name: 'rim1',
          hostName: 'sense2',
          restListenPort: 4299,
          virtualProxies: [
            { id: 'f', prefix: 'finance', description: 'VP finance', sessionInactivityTimeoutMinutes: 60 },
            // Neither copy gives a timeout: none is made up.
            { id: 'h', prefix: 'hdr', description: 'VP hdr' },
          ],
        },
      ],
      unlinked: [{ id: 'o', prefix: 'old', description: 'Old', sessionInactivityTimeoutMinutes: 10 }],
    });
  });
});
