import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LeadEventSchema, MessageSchema, TaskSchema } from '../db/entities.js';
import type { PolicyRules } from '../domain/policy.js';
import { eventually, startHarness, type Harness, stillPolicy } from './harness.js';
import { testServices } from './services.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let h: Harness;
const workers = new Set<ChildProcess>();

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await h?.stop();
});

/** `worker.ts` as its own process on its own task queue, the way production runs it. */
async function startWorkerProcess(taskQueue: string): Promise<ChildProcess> {
  const services = testServices();
  const child = spawn(`${root}node_modules/.bin/node`, ['--import', 'tsx', 'worker.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      DATABASE_URL: h.databaseUrl,
      TEMPORAL_ADDRESS: services.temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE: services.workflowBundlePath,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.add(child);
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${output}`)));
  });
  return child;
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
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
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
    worker.kill('SIGTERM');
  }, 120_000);
});
