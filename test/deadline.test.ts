import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import request from 'supertest';
import { createActivities } from '../activities/index.js';
import { LeadEventSchema, LeadSchema, TaskSchema } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import { createLeadWorker } from '../worker.js';
import { contactedSignal, explainQuery } from '../workflows/definitions.js';
import { eventually, startHarness, stillPolicy, type Harness } from './harness.js';
import { saveHistory } from './histories.js';
import { testServices } from './services.js';

/**
 * The deadline decides whether an escalation step is a breach (domain/escalation.ts), whatever order
 * the workflow sees the timer and the contact in. Each test stops the lead's worker, lets the
 * deadline fall while nothing runs (seen in the history as a fired timer), brings the contact in,
 * and only then starts a worker again: the next workflow task sees both at once.
 */
let h: Harness;
let connection: NativeConnection;

beforeAll(async () => {
  h = await startHarness();
  connection = await NativeConnection.connect({ address: testServices().temporalAddress });
});

afterAll(async () => {
  await connection?.close();
  await h?.stop();
});

async function startWorker(taskQueue: string): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const worker = await createLeadWorker({ orm: h.orm, connection, namespace: 'default', taskQueue, workflowBundlePath: testServices().workflowBundlePath });
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

const history = async (leadId: string) => (await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).fetchHistory()).events ?? [];
const events = (leadId: string) => h.orm.em.fork().find(LeadEventSchema, { lead: leadId }, { orderBy: { at: 'asc', id: 'asc' } });
const activityNames = (all: temporal.api.history.v1.IHistoryEvent[]) =>
  all.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);

/** A lead assigned on its own task queue, its assignment notice done, then its worker stopped while it sleeps toward a 6 s deadline. */
async function leadAwaitingContact(name: string, escalation: { after: string; action: 'remind_assignee' | 'notify_manager' }[]) {
  const team = await h.createTeam(name, [{ notifyBy: ['email'] }], { ...stillPolicy, firstContactSla: '6s', escalation, noticesRespectWorkingHours: false });
  const taskQueue = `deadline-${name.toLowerCase()}-${Date.now()}`;
  const first = await startWorker(taskQueue);
  const leadId = await h.startLead(team.id, { name: `${name} Lead` }, { taskQueue });
  await eventually(async () => (await events(leadId)).some((e) => e.type === 'staff_notified'));
  // Stopped once it sleeps on the SLA timer, well before that fires.
  await eventually(async () => (await history(leadId)).some((e) => e.timerStartedEventAttributes));
  await first.stop();
  // The SLA timer fires on the server with no worker to act on it.
  await eventually(async () => (await history(leadId)).some((e) => e.timerFiredEventAttributes), 15_000);
  return { team, taskQueue, leadId };
}

describe('a first contact that reaches the workflow after a deadline it slept through', () => {
  it('puts the breach on record as late, raises the level, and sends no reminder', async () => {
    const { team, taskQueue, leadId } = await leadAwaitingContact('Slept', [
      { after: '6s', action: 'remind_assignee' },
      { after: '1h', action: 'notify_manager' },
    ]);
    const rep = await h.login(team.staff[0]!.email);
    await request(h.app).post(`/api/leads/${leadId}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Called back' }).expect(200);
    const firstContactAt = (await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).firstContactAt!;

    const second = await startWorker(taskQueue);
    try {
      const escalated = await eventually(async () => (await events(leadId)).find((e) => e.type === 'escalated'));
      expect(escalated.idempotencyKey).toBe(`${leadWorkflowId(leadId)}:escalation:0`);
      expect(escalated.data).toMatchObject({ step: 0, action: 'remind_assignee', level: 1, late: true, contactAt: firstContactAt.toISOString() });
      expect(Date.parse(String(escalated.data.dueAt))).toBeLessThan(firstContactAt.getTime());
      await eventually(async () => (await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).query(explainQuery)).phase === 'cadence');
      const explained = await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).query(explainQuery);
      expect(explained).toMatchObject({ status: 'contacted', escalationLevel: 1 });
      expect((await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).escalationLevel).toBe(1);

      // Nothing was sent for it: the only notice activity in the history is the assignment's, and the
      // only notice on the timeline too. The manager step, due in an hour, is not on record at all.
      const all = await history(leadId);
      expect(activityNames(all)).toEqual(['notifyStaff']);
      const timeline = await events(leadId);
      expect(timeline.filter((e) => e.type === 'staff_notified').map((e) => e.data.notice)).toEqual(['assignment']);
      expect(timeline.filter((e) => e.type.startsWith('escalat')).map((e) => e.idempotencyKey)).toEqual([`${leadWorkflowId(leadId)}:escalation:0`]);
      expect(await h.orm.em.fork().count(TaskSchema, { lead: leadId, kind: 'escalation' })).toBe(0);
      saveHistory(leadId, 'contact-after-deadline');
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('records no breach when the contact was logged before the deadline, though its signal came after the timer', async () => {
    const { team, taskQueue, leadId } = await leadAwaitingContact('InTime', [{ after: '6s', action: 'remind_assignee' }]);
    // A contact logged by the deadline whose signal was held up (the API was waiting on a restarting
    // Temporal, say): it carries the time it was logged.
    const handle = h.temporal.workflow.getHandle(leadWorkflowId(leadId));
    const assignedAt = (await events(leadId)).find((e) => e.type === 'assigned')!.at.getTime();
    const loggedAt = new Date(assignedAt + 1_000).toISOString();
    await handle.signal(contactedSignal, { byUserId: team.staff[0]!.id, at: loggedAt });

    const second = await startWorker(taskQueue);
    try {
      const skipped = await eventually(async () => (await events(leadId)).find((e) => e.type === 'escalation_skipped'));
      expect(skipped.idempotencyKey).toBe(`${leadWorkflowId(leadId)}:escalation:0`);
      await eventually(async () => (await events(leadId)).some((e) => e.type === 'contacted'));
      const timeline = await events(leadId);
      expect(timeline.some((e) => e.type === 'escalated')).toBe(false);
      expect(timeline.filter((e) => e.type === 'staff_notified').map((e) => e.data.notice)).toEqual(['assignment']);
      expect(await handle.query(explainQuery)).toMatchObject({ status: 'contacted', escalationLevel: 0, phase: 'cadence' });
      const row = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId);
      expect(row.escalationLevel).toBe(0);
      expect(row.firstContactAt?.toISOString()).toBe(loggedAt);
      saveHistory(leadId, 'contact-in-time-signal-late');
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('puts on record a breach whose clock an interrupted first workflow task started before the contact came', async () => {
    // Found by the quick chaos: a worker died after its first task had assigned the lead (local steps
    // commit as they run), and the contact reached the workflow before the task ran again.
    const team = await h.createTeam('Interrupted', [{ notifyBy: ['email'] }], {
      ...stillPolicy,
      firstContactSla: '1s',
      escalation: [
        { after: '1s', action: 'remind_assignee' },
        { after: '1h', action: 'notify_manager' },
      ],
      noticesRespectWorkingHours: false,
    });
    const em = h.orm.em.fork();
    const row = em.create(LeadSchema, { name: 'Interrupted Lead', team: team.id, source: 'import' });
    await em.flush();
    const workflowId = leadWorkflowId(row.id);
    // What the lost task had committed: the assignment, under the key the workflow uses for it.
    const decision = await createActivities({ orm: h.orm }).assignLead({ leadId: row.id, key: `${workflowId}:assign:0`, policyVersion: 1, exclude: [], reason: 'new_lead' });
    const assignedAt = Date.parse(decision.decidedAt);
    // The clock runs past the SLA before anyone calls.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, assignedAt + 1_500 - Date.now())));
    const contactAt = new Date().toISOString();
    await h.temporal.workflow.signalWithStart('leadWorkflow', {
      workflowId,
      taskQueue: h.config.TEMPORAL_TASK_QUEUE,
      args: [{ leadId: row.id }],
      signal: contactedSignal,
      signalArgs: [{ byUserId: team.staff[0]!.id, at: contactAt }],
    });

    const escalated = await eventually(async () => (await events(row.id)).find((e) => e.type === 'escalated'));
    expect(escalated.idempotencyKey).toBe(`${workflowId}:escalation:0`);
    expect(escalated.data).toMatchObject({ step: 0, action: 'remind_assignee', level: 1, late: true, contactAt, dueAt: new Date(assignedAt + 1_000).toISOString() });
    // The assignment is still told to the rep; the pointless reminder is not sent.
    const notices = await eventually(async () => {
      const sent = (await events(row.id)).filter((e) => e.type === 'staff_notified');
      return sent.length > 0 && sent;
    });
    expect(notices.map((e) => e.data.notice)).toEqual(['assignment']);
    expect(activityNames(await history(row.id))).toEqual(['notifyStaff']);
    expect(await h.temporal.workflow.getHandle(workflowId).query(explainQuery)).toMatchObject({ status: 'contacted', escalationLevel: 1, phase: 'cadence' });
    expect((await h.orm.em.fork().findOneOrFail(LeadSchema, row.id)).escalationLevel).toBe(1);
  }, 60_000);
});
