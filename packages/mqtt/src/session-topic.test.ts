import { describe, expect, it } from 'vitest';
import { buildSessionPayload, buildSessionTopic } from './session-topic.js';

describe("Butler SOS's session topics", () => {
  it('end in a slash for the default virtual proxy', () => {
    expect(buildSessionTopic('butler-sos/', 'sense1.lab:4243', '/')).toBe(
      'butler-sos/sense1.lab/usersession/',
    );
  });

  it('end in the prefix for other virtual proxies', () => {
    expect(buildSessionTopic('butler-sos/', 'sense1.lab:4243', '/hdr')).toBe(
      'butler-sos/sense1.lab/usersession/hdr',
    );
  });

  it('use the QPS host without its port, IPv6 included', () => {
    expect(buildSessionTopic('q/', '10.0.0.5:4243', '/')).toBe('q/10.0.0.5/usersession/');
    expect(buildSessionTopic('q/', '[fe80::1]:4243', '/a')).toBe('q/fe80::1/usersession/a');
  });

  it('keep the base topic as written, like Butler SOS', () => {
    expect(buildSessionTopic('qlik', 'h:4243', '/')).toBe('qlikh/usersession/');
  });

  it('never contain the wildcards + and # or NUL', () => {
    const topic = buildSessionTopic('b/', 'h:4243', '/a+b#c\u0000d');
    expect(topic).toBe('b/h/usersession/a%2Bb%23c%00d');
    expect(topic).not.toMatch(/[+#\u0000]/);
  });
});

describe('the session payload', () => {
  it('is the session array, pretty-printed', () => {
    const sessions = [{ UserDirectory: 'LAB', UserId: 'a', Attributes: [], SessionId: 's' }];
    expect(buildSessionPayload(sessions)).toBe(JSON.stringify(sessions, null, 2));
    expect(JSON.parse(buildSessionPayload(sessions))).toEqual(sessions);
  });
});
