import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LeadEventSchema, MessageSchema, TaskSchema } from '../db/entities.js';
import type { PolicyRules } from '../domain/policy.js';
import { startWorkerProcess as spawnWorker, type WorkerProcess } from '../scripts/services/worker.js';
import { eventually, startHarness, type Harness, stillPolicy } from './harness.js';
import { testServices } from './services.js';

let h: Harness;
const workers = new Set<WorkerProcess>();

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await Promise.all([...workers].map((worker) => worker.kill()));
  await h?.stop();
});

/** `worker.ts` as its own process on its own task queue, the way production runs it. */
async function startWorkerProcess(taskQueue: string): Promise<WorkerProcess> {
  const services = testServices();
  const worker = await spawnWorker({
    env: { DATABASE_URL: h.databaseUrl, TEMPORAL_ADDRESS: services.temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, WORKFLOW_BUNDLE: services.workflowBundlePath },
  });
  workers.add(worker);
  return worker;
}

const cadence: PolicyRules['cadence'] = Array.from({ length: 8 }, (_, i) =>
  i % 2 === 0 ? { after: `${i + 1}s`, action: 'task' as const, title: `Call ${i / 2 + 1}` } : { after: `${i + 1}s`, action: 'sms' as const, template: 'followup_sms' },
);

describe('a worker killed mid-cadence', () => {
  it('is replaced and the cadence finishes with no step lost or doubled', async () => {
    const taskQueue = `crash-${Date.now()}`;
    const team = await h.createTeam('Crash', [{}], { ...stillPolicy, cadence });
    let worker = await startWorkerProcess(taskQueue);
    const leadId = await h.startLead(team.id, { phone: '+12025550190' }, { taskQueue });
    await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: leadId, kind: 'first_contact' }));
    const rep = await h.login(team.staff[0]!.email);
    await request(h.app).post(`/api/leads/${leadId}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Intro call' }).expect(200);

    // Kill it without warning once the cadence is under way.
    const stepsDone = async () =>
      (await h.orm.em.fork().count(TaskSchema, { lead: leadId, kind: 'follow_up' })) + (await h.orm.em.fork().count(MessageSchema, { lead: leadId }));
    await eventually(async () => (await stepsDone()) >= 3, 30_000);
    await worker.kill();
    const atKill = await stepsDone();
    expect(atKill).toBeLessThan(8);

    worker = await startWorkerProcess(taskQueue);
    await eventually(async () => (await stepsDone()) === 8, 60_000);
    // Give a doubled step the time to show up, were there one.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const tasks = await h.orm.em.fork().find(TaskSchema, { lead: leadId, kind: 'follow_up' }, { orderBy: { createdAt: 'asc' } });
    expect(tasks.map((t) => t.title)).toEqual(['Call 1', 'Call 2', 'Call 3', 'Call 4']);
    const messages = await h.orm.em.fork().find(MessageSchema, { lead: leadId });
    expect(messages).toHaveLength(4);
    expect(new Set(messages.map((m) => m.idempotencyKey)).size).toBe(4);
    const events = await h.orm.em.fork().find(LeadEventSchema, { lead: leadId, type: { $in: ['message_sent', 'task_created'] } });
    expect(events.filter((e) => e.type === 'message_sent')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'task_created')).toHaveLength(5); // first contact and four calls
    await worker.stop();
  }, 120_000);
});
