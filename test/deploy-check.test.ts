import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LeadSchema } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import { runDeployCheck } from '../scripts/deployCheck.js';
import { eventually, startHarness, stillPolicy, type Harness } from './harness.js';
import { testServices } from './services.js';

/**
 * `npm run deploy:check` against the test dev server: leads in four states (queued, assigned, contacted,
 * lost), run by a worker with today's workflow code. Each check bundles the workflows itself, as the
 * real one does (a few seconds each); the file takes about 40 s on two cores, half of it starting the leads.
 */
let h: Harness;
const leads: Record<'queued' | 'assigned' | 'contacted' | 'lost', string> = { queued: '', assigned: '', contacted: '', lost: '' };

const lead = (leadId: string) => h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['assignee'] });
const assigned = (leadId: string) => eventually(async () => ((await lead(leadId)).assignee ? lead(leadId) : null));

beforeAll(async () => {
  h = await startHarness();
  const full = await h.createTeam('DeployFull', [{ capacity: 0 }], stillPolicy);
  const open = await h.createTeam('DeployOpen', [{ capacity: 10 }], stillPolicy);
  const rep = await h.login(open.staff[0]!.email);

  leads.queued = await h.startLead(full.id, { name: 'Waits in the queue' });
  leads.assigned = await h.startLead(open.id, { name: 'Assigned' });
  leads.contacted = await h.startLead(open.id, { name: 'Contacted' });
  leads.lost = await h.startLead(open.id, { name: 'Lost' });
  await eventually(async () => (await lead(leads.queued)).queuedAt);
  await Promise.all([assigned(leads.assigned), assigned(leads.contacted), assigned(leads.lost)]);
  await request(h.app).post(`/api/leads/${leads.contacted}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Spoke briefly' }).expect(200);
  await request(h.app).post(`/api/leads/${leads.lost}/lose`).set('Authorization', rep).send({ reason: 'No budget' }).expect(200);
  await h.temporal.workflow.getHandle(leadWorkflowId(leads.lost)).result();

  // Visibility catches up with the search attributes a moment after the workflows write them.
  const count = (query: string) => h.temporal.workflow.count(`TaskQueue = '${h.config.TEMPORAL_TASK_QUEUE}' AND ${query}`).then((c) => c.count);
  await eventually(async () => {
    const counts = await Promise.all([
      count(`ExecutionStatus = 'Running' AND LeadStatus = 'new'`),
      count(`ExecutionStatus = 'Running' AND LeadStatus = 'assigned'`),
      count(`ExecutionStatus = 'Running' AND LeadStatus = 'contacted'`),
      count(`ExecutionStatus = 'Completed' AND LeadStatus = 'lost'`),
    ]);
    return counts.every((c) => c === 1);
  });
}, 60_000);

afterAll(() => h?.stop());

describe('deploy check', () => {
  it('replays every sampled lead history with the working tree’s workflows, counts them by status and passes with exit code 0', async () => {
    const report = await runDeployCheck({ client: h.temporal, taskQueue: h.config.TEMPORAL_TASK_QUEUE, perStatus: 5 });
    expect(report.failures).toEqual([]);
    expect(report.unreadable).toEqual([]);
    expect(report.statuses).toEqual([
      { status: 'new', sampled: 1, running: 1, closed: 0, ok: 1, failed: 0 },
      { status: 'assigned', sampled: 1, running: 1, closed: 0, ok: 1, failed: 0 },
      { status: 'contacted', sampled: 1, running: 1, closed: 0, ok: 1, failed: 0 },
      { status: 'converted', sampled: 0, running: 0, closed: 0, ok: 0, failed: 0 },
      { status: 'lost', sampled: 1, running: 0, closed: 1, ok: 1, failed: 0 },
      { status: 'unresponsive', sampled: 0, running: 0, closed: 0, ok: 0, failed: 0 },
    ]);
    expect(report.exitCode).toBe(0);
    expect(report.verdict).toBe('deploy check: 4 histories replayed, 0 failed');
  }, 60_000);

  it('fails with exit code 1 on a workflow build that starts a timer first, naming the lead’s workflow, run and the event it diverged at', async () => {
    const workflowId = leadWorkflowId(leads.assigned);
    const report = await runDeployCheck({
      client: h.temporal,
      workflowIds: [workflowId],
      workflowsPath: fileURLToPath(new URL('./fixtures/timerFirstWorkflow.ts', import.meta.url)),
    });
    const handle = h.temporal.workflow.getHandle(workflowId);
    const { runId } = await handle.describe();
    // The timer stands where the first workflow task's first command was: the event right after it completed.
    const events = (await handle.fetchHistory()).events ?? [];
    const firstTaskDone = events.findIndex((event) => event.workflowTaskCompletedEventAttributes);
    const firstCommand = Number(events[firstTaskDone + 1]!.eventId);
    expect(report.failures).toEqual([
      { workflowId, runId, status: 'assigned', kind: 'nondeterminism', eventId: firstCommand, eventType: 'MarkerRecorded', reason: expect.stringMatching(/^\[TMPRL1100\] Nondeterminism error: /) },
    ]);
    expect(report.statuses.find((line) => line.status === 'assigned')).toEqual({ status: 'assigned', sampled: 1, running: 1, closed: 0, ok: 0, failed: 1 });
    expect(report.exitCode).toBe(1);
    expect(report.verdict).toBe('deploy check: 1 histories replayed, 1 failed');
  }, 60_000);

  it('replays nothing and answers exit code 2 when no lead workflow runs on the task queue', async () => {
    const report = await runDeployCheck({ client: h.temporal, taskQueue: 'no-such-queue' });
    expect(report.statuses.every((line) => line.sampled === 0)).toBe(true);
    expect(report.exitCode).toBe(2);
    expect(report.verdict).toBe('deploy check: 0 histories replayed, 0 failed');
  });

  it('exits 2 from the command line, saying why, when the namespace cannot be listed', async () => {
    // The same path as an unreachable server (the error ends the run), without waiting out the 10 s connect timeout.
    const run = promisify(execFile)('npx', ['tsx', 'scripts/deployCheck.ts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, TEMPORAL_ADDRESS: testServices().temporalAddress, TEMPORAL_NAMESPACE: 'no-such-namespace' },
    });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('deploy check could not run') });
    // Most of its time is tsx loading the worker's imports, which a busy CI machine stretches.
  }, 120_000);
});
