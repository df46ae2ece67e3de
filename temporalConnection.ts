import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from './config.js';

export type TemporalSettings = Pick<Config, 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_SERVER_NAME' | 'TEMPORAL_API_KEY'>;

/** What both the client's `Connection` and the worker's `NativeConnection` take to reach Temporal. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

const pem = (path: string, what: string) => {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`Cannot read ${what} at ${path}: ${(error as Error).message}`, { cause: error });
  }
};

/**
 * The one way every Leadline process (API, worker, scripts) connects to Temporal: plain TCP to a dev
 * server, TLS or mTLS to a cluster, an API key to Temporal Cloud, from the settings in config.ts.
 */
export function temporalConnectionOptions(address: string, settings: TemporalSettings): TemporalConnectionOptions {
  const { TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: serverName, TEMPORAL_API_KEY: apiKey } = settings;
  if (!cert && !ca && !serverName && !apiKey) return { address };
  const tls: TLSConfig = {
    ...(ca ? { serverRootCACertificate: pem(ca, 'the Temporal CA certificate (TEMPORAL_TLS_CA)') } : {}),
    ...(serverName ? { serverNameOverride: serverName } : {}),
    ...(cert && key ? { clientCertPair: { crt: pem(cert, 'the client certificate (TEMPORAL_TLS_CERT)'), key: pem(key, 'the client key (TEMPORAL_TLS_KEY)') } } : {}),
  };
  return { address, tls, ...(apiKey ? { apiKey } : {}) };
}
