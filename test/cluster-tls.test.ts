import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, TransportError } from '@temporalio/worker';
import request from 'supertest';
import { LeadSchema } from '../db/entities.js';
import type { SystemStatus } from '../domain/system.js';
import { freeClusterPorts, startTemporalCluster, type RunningCluster } from '../scripts/services/cluster.js';
import { temporalConnectionOptions, type TemporalSettings } from '../temporalConnection.js';
import { eventually, startHarness, stillPolicy, type Harness } from './harness.js';
import { scratchDir, testServices } from './services.js';

// The production-shape cluster (scripts/services/cluster.ts) with its frontend over mTLS, on certificates made
// here: a CA, the frontend's certificate for 127.0.0.1 and localhost, a client certificate for Leadline and one
// for the cluster's own roles and UI. Leadline connects the one way all its processes do: temporalConnectionOptions().
const name = `cluster_tls_${randomUUID().replace(/-/g, '')}`;
const scratch = scratchDir('leadline-cluster-tls-');
const certs = scratchDir('leadline-certs-');
const file = (base: string) => join(certs.path, base);
let cluster: RunningCluster | undefined;
let h: Harness | undefined;
let address: string;
let leadlineTls: TemporalSettings;
/** How long a connection that is refused may keep trying. */
const REFUSED_WITHIN_MS = 3_000;

/** A throwaway CA and three certificates signed by it, in PEM files, made with the openssl CLI. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs.path, stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
  openssl('req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=Leadline test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  const issue = (base: string, usage: 'serverAuth' | 'clientAuth', altNames?: string) =>
    openssl(
      'req', '-x509', '-CA', 'ca.crt', '-CAkey', 'ca.key', ...newKey, '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', `/CN=${base}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', '-addext', `extendedKeyUsage=${usage}`,
      ...(altNames ? ['-addext', `subjectAltName=${altNames}`] : []),
    );
  issue('frontend', 'serverAuth', 'DNS:localhost,IP:127.0.0.1');
  issue('leadline', 'clientAuth');
  issue('temporal-system', 'clientAuth');
}

beforeAll(async () => {
  makeCertificates();
  cluster = await startTemporalCluster({
    postgresUrl: testServices().postgresUrl,
    databases: { persistence: name, visibility: `${name}_visibility` },
    ports: await freeClusterPorts(),
    historyShards: 1,
    logDir: scratch.path,
    say: () => undefined,
    frontendTls: {
      certFile: file('frontend.crt'),
      keyFile: file('frontend.key'),
      clientCaFile: file('ca.crt'),
      caFile: file('ca.crt'),
      systemCertFile: file('temporal-system.crt'),
      systemKeyFile: file('temporal-system.key'),
    },
  });
  address = cluster.address;
  leadlineTls = { TEMPORAL_TLS_CERT: file('leadline.crt'), TEMPORAL_TLS_KEY: file('leadline.key'), TEMPORAL_TLS_CA: file('ca.crt') };
  h = await startHarness({ temporal: temporalConnectionOptions(address, leadlineTls) });
}, 240_000);

afterAll(async () => {
  await h?.stop();
  await cluster?.stop();
  scratch.remove();
  certs.remove();
});

/** Resolves if the connection comes up (and closes it), rejects with why not. */
async function connectOnce(options: Parameters<typeof Connection.connect>[0]): Promise<void> {
  const connection = await Connection.connect({ ...options, connectTimeout: REFUSED_WITHIN_MS });
  await connection.close();
}

describe('the cluster with its frontend over mTLS', () => {
  it('refuses a plain (non-TLS) connection to the frontend, from the client (API) and the NativeConnection (worker) alike', async () => {
    await expect(connectOnce({ address })).rejects.toThrow('Failed to connect before the deadline');
    await expect(NativeConnection.connect({ address })).rejects.toThrow(TransportError);
  });

  it('refuses a TLS connection without a client certificate: the handshake ends with the certificate-required alert, and neither client connects', async () => {
    const [host, port] = address.split(':') as [string, string];
    const alert = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host, port: Number(port), ca: readFileSync(file('ca.crt')), ALPNProtocols: ['h2'] });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.once('close', () => resolve('closed without an alert'));
    });
    expect(alert).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    const withoutCertificate = temporalConnectionOptions(address, { TEMPORAL_TLS_CA: file('ca.crt') });
    await expect(connectOnce(withoutCertificate)).rejects.toThrow('Failed to connect before the deadline');
    await expect(NativeConnection.connect(withoutCertificate)).rejects.toThrow(TransportError);
  });

  it('connects with TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY and TEMPORAL_TLS_CA through temporalConnectionOptions, and describes the default namespace', async () => {
    const connection = await Connection.connect(temporalConnectionOptions(address, leadlineTls));
    try {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespaceInfo?.name).toBe('default');
    } finally {
      await connection.close();
    }
  });

  it('lets the server’s own worker role reach the frontend over mTLS: the task queue scanner it starts runs in temporal-system', async () => {
    const connection = await Connection.connect(temporalConnectionOptions(address, leadlineTls));
    try {
      const scanner = new Client({ connection, namespace: 'temporal-system' }).workflow.getHandle('temporal-sys-tq-scanner');
      const status = await eventually(() => scanner.describe().then(({ status }) => status.name, () => null), 30_000);
      expect(status).toBe('RUNNING');
    } finally {
      await connection.close();
    }
  });

  it('runs a lead workflow to its assignment on a NativeConnection worker (createLeadWorker) connected the same way', async () => {
    const team = await h!.createTeam('Mtls', [{}], stillPolicy);
    const leadId = await h!.startLead(team.id, { name: 'mTLS Lead' });
    const assigned = await eventually(async () => {
      const row = await h!.orm.em.fork().findOneOrFail(LeadSchema, leadId);
      return row.status === 'assigned' && row;
    }, 30_000);
    expect(assigned.assignee?.id).toBe(team.staff[0]!.id);
  });

  it('answers GET /api/system over that client with the cluster’s four roles (its AdminService call uses the client certificate)', async () => {
    const ops = await h!.login('ops@leadline.test');
    const body = (await request(h!.app).get('/api/system').set('Authorization', ops).expect(200)).body as SystemStatus;
    expect(body.temporal.address).toBe(address);
    expect(body.membershipError).toBeNull();
    const roles = new Map(body.membership!.map((ring) => [ring.role, ring.members.map((member) => member.identity)]));
    expect([...roles.keys()]).toEqual(expect.arrayContaining(['frontend', 'history', 'matching', 'worker']));
    expect(roles.get('frontend')).toContain(address);
  });

  it('serves the Web UI, which reaches the frontend over mTLS: its API describes the default namespace', async () => {
    const res = await fetch(`${cluster!.uiUrl}/api/v1/namespaces/default`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { namespaceInfo?: { name?: string } }).namespaceInfo?.name).toBe('default');
  });
});
