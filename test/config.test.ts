import { describe, expect, it } from '@jest/globals';
import { readConfig } from '../config.js';

const PAIR_ERROR = 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together';

describe('readConfig: the client certificate for Temporal', () => {
  it('rejects TEMPORAL_TLS_CERT without TEMPORAL_TLS_KEY', () => {
    expect(() => readConfig({ TEMPORAL_TLS_CERT: 'client.pem' })).toThrow(PAIR_ERROR);
  });

  it('rejects TEMPORAL_TLS_KEY without TEMPORAL_TLS_CERT', () => {
    expect(() => readConfig({ TEMPORAL_TLS_KEY: 'client.key' })).toThrow(PAIR_ERROR);
  });

  it('rejects TEMPORAL_TLS_CERT with an empty TEMPORAL_TLS_KEY (empty means unset, as docker-compose passes it)', () => {
    expect(() => readConfig({ TEMPORAL_TLS_CERT: 'client.pem', TEMPORAL_TLS_KEY: '' })).toThrow(PAIR_ERROR);
  });

  it('accepts the pair with the CA and the server name', () => {
    const settings = { TEMPORAL_TLS_CERT: 'client.pem', TEMPORAL_TLS_KEY: 'client.key', TEMPORAL_TLS_CA: 'ca.pem', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' };
    expect(readConfig(settings)).toMatchObject(settings);
  });
});
