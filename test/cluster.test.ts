import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { LeadSchema } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import { freeClusterPorts, startTemporalCluster, temporalRoles, type RunningCluster } from '../scripts/services/cluster.js';
import { createLeadWorker } from '../worker.js';
import { searchAttributes } from '../workflows/definitions.js';
import { eventually, startHarness, stillPolicy, type Harness } from './harness.js';
import { scratchDir, testServices } from './services.js';

// The production shape (scripts/services/cluster.ts) on the test Postgres, in databases of its own, on free ports.
// The harness gives this file its Leadline database; its worker and client here talk to the cluster instead.
const HISTORY_SHARDS = 2;
const name = `cluster_${randomUUID().replace(/-/g, '')}`;
const scratch = scratchDir('leadline-cluster-');
let cluster: RunningCluster | undefined;
let h: Harness;
let connection: Connection;
let workerConnection: NativeConnection;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
const taskQueue = `leads-${name}`;

async function stopWorker() {
  worker?.shutdown();
  await workerRun;
  worker = undefined;
}

beforeAll(async () => {
  cluster = await startTemporalCluster({
    postgresUrl: testServices().postgresUrl,
    databases: { persistence: name, visibility: `${name}_visibility` },
    ports: await freeClusterPorts(),
    historyShards: HISTORY_SHARDS,
    logDir: scratch.path,
    say: () => undefined,
  });
  h = await startHarness();
  connection = await Connection.connect({ address: cluster.address });
  workerConnection = await NativeConnection.connect({ address: cluster.address });
  worker = await createLeadWorker({ orm: h.orm, connection: workerConnection, namespace: 'default', taskQueue, workflowBundlePath: testServices().workflowBundlePath });
  workerRun = worker.run();
}, 240_000);

afterAll(async () => {
  await stopWorker();
  await workerConnection?.close();
  await connection?.close();
  await h?.stop();
  await cluster?.stop();
  scratch.remove();
});

describe('the Temporal cluster of npm run cluster', () => {
  it('keeps persistence and visibility in Postgres, with the history shards it was created with', async () => {
    const info = await connection.workflowService.getClusterInfo({});
    expect(info.persistenceStore).toMatch(/postgres/);
    expect(info.visibilityStore).toMatch(/postgres/);
    expect(info.historyShardCount).toBe(HISTORY_SHARDS);
  });

  it('has the default namespace with the five search attributes of the lead workflow, with their types', async () => {
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const key of Object.values(searchAttributes)) {
      expect([key.name, customAttributes[key.name]]).toEqual([key.name, encodeSearchAttributeIndexedValueType(key.type)]);
    }
  });

  it('serves the Web UI', async () => {
    const res = await fetch(cluster!.uiUrl!);
    expect(res.status).toBe(200);
  });

  it('runs a lead workflow to assignment, and finds it in visibility by its LeadStatus', async () => {
    const team = await h.createTeam('Cluster', [{}], stillPolicy);
    const em = h.orm.em.fork();
    const lead = em.create(LeadSchema, { name: 'Cluster Lead', team: team.id, source: 'import' });
    await em.flush();
    const client = new Client({ connection, namespace: 'default' });
    await client.workflow.start('leadWorkflow', { workflowId: leadWorkflowId(lead.id), taskQueue, args: [{ leadId: lead.id }] });

    const assigned = await eventually(async () => {
      const row = await h.orm.em.fork().findOneOrFail(LeadSchema, lead.id);
      return row.status === 'assigned' && row;
    }, 30_000);
    expect(assigned.assignee?.id).toBe(team.staff[0]!.id);
    await eventually(async () => {
      for await (const found of client.workflow.list({ query: `LeadStatus = 'assigned' AND LeadTeam = 'Cluster'` })) {
        if (found.workflowId === leadWorkflowId(lead.id)) return true;
      }
      return false;
    }, 30_000);
  });

  it('leaves none of its processes running once stopped', async () => {
    await stopWorker();
    const pids = [...temporalRoles.map((role) => cluster!.services[role].pid), cluster!.ui?.pid];
    expect(pids.every((pid) => typeof pid === 'number')).toBe(true);
    await cluster!.stop();
    cluster = undefined;
    // Each ran in a process group of its own: neither it nor anything it started may remain.
    const alive = pids.filter((pid) => {
      try {
        process.kill(-pid!, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
