import { describe, expect, it } from 'vitest';
import { redisFailureHint } from './connection.js';

describe('why Redis could not be reached', () => {
  it('points at the client certificate when a TLS Redis resets a client that has none', () => {
    expect(redisFailureHint('rediss://redis.lab:6380', {}, 'write ECONNRESET')).toMatch(
      /client certificate.*REDIS_CERT_FILE and REDIS_KEY_FILE/,
    );
    expect(
      redisFailureHint(
        'rediss://redis.lab:6380',
        { certFile: 'c.pem', keyFile: 'k.pem' },
        'write ECONNRESET',
      ),
    ).toBeUndefined();
  });

  it("points at REDIS_CA_FILE when Redis's certificate is signed by a CA Node does not know", () => {
    expect(
      redisFailureHint('rediss://redis.lab:6380', {}, 'self-signed certificate in certificate chain'),
    ).toMatch(/REDIS_CA_FILE/);
    expect(redisFailureHint('rediss://redis.lab:6380', {}, 'unable to get local issuer certificate')).toMatch(
      /REDIS_CA_FILE/,
    );
  });

  it('suspects REDIS_CLUSTER when the cluster client finds no cluster', () => {
    expect(redisFailureHint('redis://redis.lab:6379', {}, 'Failed to refresh slots cache.')).toMatch(
      /not a node of a Redis Cluster: unset REDIS_CLUSTER/,
    );
  });

  it('has nothing to add for plain Redis or for other failures', () => {
    expect(redisFailureHint('redis://redis.lab:6379', {}, 'write ECONNRESET')).toBeUndefined();
    expect(
      redisFailureHint('rediss://redis.lab:6380', {}, 'connect ECONNREFUSED 127.0.0.1:6380'),
    ).toBeUndefined();
  });
});
