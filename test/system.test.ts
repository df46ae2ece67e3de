import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Connection } from '@temporalio/client';
import request from 'supertest';
import { createApp } from '../api/app.js';
import { describeMembership } from '../api/temporalMembership.js';
import { TeamSchema } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import { systemStatusSchema, type SystemStatus } from '../domain/system.js';
import { eventually, startHarness, type Harness } from './harness.js';
import { testServices } from './services.js';

const BUILD_ID = 'system-test-build';
/** The SDK's default worker identity: this file's worker runs in this process. */
const ownWorker = `${process.pid}@${hostname()}`;

let h: Harness;
let ops: string;

beforeAll(async () => {
  h = await startHarness({ buildId: BUILD_ID });
  ops = await h.login('ops@leadline.test');
});

afterAll(() => h?.stop());

const system = async (authorization: string) => (await request(h.app).get('/api/system').set('Authorization', authorization).expect(200)).body as SystemStatus;

describe('GET /api/system', () => {
  it.each(['ops@leadline.test', 'admin@leadline.test'])('answers %s with the dev server the API uses: address, version, sqlite stores, shards', async (email) => {
    const body = await system(await h.login(email));
    // The answer is what the OpenAPI document says it is.
    expect(systemStatusSchema.safeParse(body).error).toBeUndefined();
    expect(body.temporal).toEqual({
      address: testServices().temporalAddress,
      namespace: 'default',
      serverVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      clusterName: expect.any(String),
      historyShardCount: expect.any(Number),
      persistenceStore: 'sqlite',
      visibilityStore: 'sqlite',
    });
    expect(body.temporal.historyShardCount).toBeGreaterThanOrEqual(1);
  });

  it('lists the frontend, history, matching and worker roles, each with at least one host:port member', async () => {
    const body = await system(ops);
    expect(body.membershipError).toBeNull();
    const roles = new Map(body.membership!.map((ring) => [ring.role, ring.members.map((member) => member.identity)]));
    expect([...roles.keys()]).toEqual(expect.arrayContaining(['frontend', 'history', 'matching', 'worker']));
    for (const role of ['frontend', 'history', 'matching', 'worker']) {
      expect([role, roles.get(role)!.length > 0]).toEqual([role, true]);
      for (const identity of roles.get(role)!) expect(identity).toMatch(/^[^\s]+:\d+$/);
    }
    // The API reaches the cluster through its frontend.
    expect(roles.get('frontend')).toContain(testServices().temporalAddress);
  });

  it('shows this file’s worker polling the lead task queue for workflow and activity tasks with the build id it was given', async () => {
    const pollers = await eventually(async () => {
      const found = (await system(ops)).taskQueue.pollers.filter((poller) => poller.identity === ownWorker);
      return found.length === 2 ? found : null;
    });
    expect(pollers.map(({ taskType, buildId }) => ({ taskType, buildId })).sort((a, b) => a.taskType.localeCompare(b.taskType))).toEqual([
      { taskType: 'activity', buildId: BUILD_ID },
      { taskType: 'workflow', buildId: BUILD_ID },
    ]);
    for (const poller of pollers) expect(Math.abs(Date.now() - Date.parse(poller.lastAccessTime!))).toBeLessThan(5 * 60_000);
  });

  it('names the lead task queue and gives the backlog of workflow and activity tasks: count, age, add and dispatch rates', async () => {
    const { taskQueue } = await system(ops);
    expect(taskQueue.name).toBe(h.config.TEMPORAL_TASK_QUEUE);
    expect(taskQueue.backlog.map((backlog) => backlog.taskType).sort()).toEqual(['activity', 'workflow']);
    for (const backlog of taskQueue.backlog) {
      expect(backlog).toEqual({
        taskType: backlog.taskType,
        approximateBacklogCount: expect.any(Number),
        approximateBacklogAgeSeconds: expect.any(Number),
        tasksAddRate: expect.any(Number),
        tasksDispatchRate: expect.any(Number),
      });
      expect(backlog.approximateBacklogCount).toBeGreaterThanOrEqual(0);
    }
  });

  it('counts a lead waiting on a queue no worker polls as one workflow task in the backlog, with its age', async () => {
    const taskQueue = `${h.config.TEMPORAL_TASK_QUEUE}-unpolled`;
    const app = createApp({ orm: h.orm, temporal: h.temporal, config: { ...h.config, TEMPORAL_TASK_QUEUE: taskQueue } });
    const team = await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'North' });
    const leadId = await h.startLead(team.id, {}, { taskQueue });
    try {
      const waiting = await eventually(async () => {
        const body = (await request(app).get('/api/system').set('Authorization', ops).expect(200)).body as SystemStatus;
        const workflow = body.taskQueue.backlog.find((backlog) => backlog.taskType === 'workflow');
        return workflow && workflow.approximateBacklogCount > 0 ? body : null;
      });
      expect(waiting.taskQueue.name).toBe(taskQueue);
      expect(waiting.taskQueue.pollers).toEqual([]);
      expect(waiting.taskQueue.backlog.find((backlog) => backlog.taskType === 'workflow')).toMatchObject({ approximateBacklogCount: 1, approximateBacklogAgeSeconds: expect.any(Number) });
      expect(waiting.taskQueue.backlog.find((backlog) => backlog.taskType === 'workflow')!.approximateBacklogAgeSeconds).toBeGreaterThan(0);
    } finally {
      await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).terminate('test over');
    }
  });

  it.each(['north.rep1@leadline.test', 'north.manager@leadline.test'])('refuses %s with 403', async (email) => {
    const res = await request(h.app).get('/api/system').set('Authorization', await h.login(email)).expect(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('refuses a caller without a session with 401', async () => {
    const res = await request(h.app).get('/api/system').expect(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });

  it('is described in the OpenAPI document down to the fields of its answer', async () => {
    const document = (await request(h.app).get('/api/openapi.json').expect(200)).body;
    const schema = document.paths['/api/system'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(schema.properties).sort()).toEqual(['checkedAt', 'membership', 'membershipError', 'taskQueue', 'temporal']);
  });
});

describe('describeMembership', () => {
  it('rejects with UNIMPLEMENTED where the server has no AdminService, so the route can answer membership: null with that reason', async () => {
    // A gRPC server with no services at all: the one thing it shares with Temporal Cloud here is that DescribeCluster is not there.
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const connection = Connection.lazy({ address: `127.0.0.1:${port}` });
    try {
      await expect(describeMembership(connection)).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      await connection.close();
      server.forceShutdown();
    }
  });
});
