import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { createActivities } from '../activities/index.js';
import { LeadEventSchema, LeadSchema, MessageSchema, TaskSchema, UserSchema } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import type { PolicyRules } from '../domain/policy.js';
import { wakeTeamQueue } from '../api/queue.js';
import { contactedSignal, explainQuery, inboundMessageSignal } from '../workflows/definitions.js';
import { eventually, startHarness, type Harness, stillPolicy } from './harness.js';
import { saveHistory } from './histories.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(() => h?.stop());

const still = stillPolicy;

const explain = (leadId: string) => h.temporal.workflow.getHandle(leadWorkflowId(leadId)).query(explainQuery);
const lead = (leadId: string) => h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['assignee'] });
const eventTypes = async (leadId: string) =>
  (await h.orm.em.fork().find(LeadEventSchema, { lead: leadId }, { orderBy: { at: 'asc', id: 'asc' } })).map((e) => e.type);
const assigned = (leadId: string) => eventually(async () => ((await lead(leadId)).assignee ? lead(leadId) : null));

describe('fair assignment', () => {
  it('spreads 500 leads imported at once within one lead of even', async () => {
    const team = await h.createTeam('Bulk', [{ capacity: 1000 }, { capacity: 1000 }, { capacity: 1000 }], still);
    const ids: string[] = [];
    // Started 50 at a time, the way an import job would: every decision still goes through the team lock.
    for (let batch = 0; batch < 10; batch++) {
      ids.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => h.startLead(team.id, { name: `Bulk ${batch * 50 + i}` })))));
    }
    // Fairness is the point here, not speed: a CI machine busy with the cluster and chaos files may take minutes.
    const counts = await eventually(async () => {
      const rows = await h.orm.em.fork().find(LeadSchema, { team: team.id, assignee: { $ne: null } });
      if (rows.length < ids.length) return null;
      const perRep = new Map<string, number>();
      for (const row of rows) perRep.set(row.assignee!.id, (perRep.get(row.assignee!.id) ?? 0) + 1);
      return [...perRep.values()];
    }, 300_000);
    expect(counts).toHaveLength(3);
    expect(counts.reduce((a, b) => a + b)).toBe(500);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    // One assignment decision per lead, no lead assigned twice.
    expect(await h.orm.em.fork().count(LeadEventSchema, { lead: { team: team.id }, type: 'assigned' })).toBe(500);
  }, 360_000);

  it('follows per-person weights within one lead', async () => {
    const team = await h.createTeam('Weighted', [{ capacity: 1000, weight: 3 }, { capacity: 1000, weight: 2 }, { capacity: 1000, weight: 1 }], still);
    await Promise.all(Array.from({ length: 60 }, () => h.startLead(team.id)));
    // All 60 at once queue behind each other on the team lock: wait for the whole batch, not 20 s each.
    const rows = await eventually(async () => {
      const found = await h.orm.em.fork().find(LeadSchema, { team: team.id, assignee: { $ne: null } });
      return found.length === 60 && found;
    }, 150_000);
    const count = (userId: string) => rows.filter((row) => row.assignee?.id === userId).length;
    const [three, two, one] = team.staff.map((person) => count(person.id));
    expect(Math.abs(three! - 30)).toBeLessThanOrEqual(1);
    expect(Math.abs(two! - 20)).toBeLessThanOrEqual(1);
    expect(Math.abs(one! - 10)).toBeLessThanOrEqual(1);
  }, 180_000);

  it('records every candidate and why each was skipped', async () => {
    const team = await h.createTeam('Reasons', [{ capacity: 5 }, { active: false }, { capacity: 0 }], still);
    const leadId = await h.startLead(team.id);
    await assigned(leadId);
    const { lastAssignment } = await explain(leadId);
    expect(lastAssignment?.candidates.map((c) => [c.name, c.eligible, c.reason])).toEqual([
      ['Reasons Rep 1', true, 'next in round_robin'],
      ['Reasons Rep 2', false, 'inactive'],
      ['Reasons Rep 3', false, 'at capacity (0/0 open leads)'],
    ]);
    const event = await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: leadId, type: 'assigned' });
    expect(event.data.decision).toEqual(lastAssignment);
  });
});

describe('the team queue', () => {
  it('holds leads nobody can take, tells the manager once per lead, and drains in order as capacity frees', async () => {
    const team = await h.createTeam('Queue', [{ capacity: 1 }], still);
    const [rep] = team.staff;
    const first = await h.startLead(team.id, { name: 'First' });
    await assigned(first);
    const second = await h.startLead(team.id, { name: 'Second' });
    await eventually(async () => (await lead(second)).queuedAt);
    const third = await h.startLead(team.id, { name: 'Third' });
    await eventually(async () => (await lead(third)).queuedAt);

    expect(await explain(second)).toMatchObject({ phase: 'queued', assigneeId: null });
    const managerTasks = await eventually(async () => {
      const tasks = await h.orm.em.fork().find(TaskSchema, { team: team.id, kind: 'escalation' }, { populate: ['lead'] });
      return tasks.length >= 2 ? tasks : null;
    });
    expect(managerTasks.map((t) => [t.lead.name, t.assignee?.id])).toEqual(
      expect.arrayContaining([
        ['Second', team.managerId],
        ['Third', team.managerId],
      ]),
    );
    expect(managerTasks).toHaveLength(2);

    // Closing the first lead frees the only seat: the oldest queued lead takes it, the next keeps waiting.
    const manager = await loginAs(team.managerEmail);
    await request(h.app).post(`/api/leads/${first}/lose`).set('Authorization', manager).send({ reason: 'Bought elsewhere' }).expect(200);
    expect((await assigned(second)).assignee?.id).toBe(rep!.id);
    expect((await lead(third)).assignee).toBeNull();

    // More capacity: the API wakes the head of the queue and it is assigned at once.
    const em = h.orm.em.fork();
    (await em.findOneOrFail(UserSchema, rep!.id)).capacity = 5;
    await em.flush();
    await wakeTeamQueue(h.orm.em.fork(), h.temporal, team.id);
    expect((await assigned(third)).queuedAt).toBeNull();
    expect(await eventually(async () => ((await eventTypes(third)).length === 4 ? eventTypes(third) : null))).toEqual([
      'queued',
      'manager_notified',
      'assigned',
      'task_created',
    ]);
    // Still one notice per lead after waiting and asking again.
    expect(await h.orm.em.fork().count(TaskSchema, { team: team.id, kind: 'escalation' })).toBe(2);
    saveHistory(third, 'queued-then-assigned');
  }, 60_000);
});

async function loginAs(email: string) {
  const res = await request(h.app).post('/api/auth/login').send({ email, password: 'leadline' }).expect(200);
  return `Bearer ${res.body.token as string}`;
}

describe('escalation', () => {
  it('runs the chain step by step: remind, tell the manager, reassign to someone new, raise priority', async () => {
    const team = await h.createTeam('Chain', [{}, {}], {
      ...still,
      firstContactSla: '1s',
      escalation: [
        { after: '1s', action: 'remind_assignee' },
        { after: '2s', action: 'notify_manager' },
        { after: '3s', action: 'reassign' },
        { after: '4s', action: 'raise_priority' },
      ],
    });
    const leadId = await h.startLead(team.id, { name: 'Slow Lead' });
    const first = (await assigned(leadId)).assignee!.id;
    const done = await eventually(async () => ((await lead(leadId)).escalationLevel === 4 ? lead(leadId) : null));
    expect(done.priority).toBe('high');
    expect(done.assignee!.id).not.toBe(first);

    const events = await h.orm.em.fork().find(LeadEventSchema, { lead: leadId }, { orderBy: { at: 'asc', id: 'asc' } });
    // The reassign step puts its breach on record before it moves the lead.
    expect(events.map((e) => e.type)).toEqual(['assigned', 'task_created', 'escalated', 'escalated', 'escalated', 'reassigned', 'escalated']);
    expect(events.filter((e) => e.type === 'escalated').map((e) => [e.data.action, e.data.level])).toEqual([
      ['remind_assignee', 1],
      ['notify_manager', 2],
      ['reassign', 3],
      ['raise_priority', 4],
    ]);
    // Each step waited for its own deadline, counted from assignment.
    const assignedAt = events[0]!.at.getTime();
    const escalatedAt = events.filter((e) => e.type === 'escalated').map((e) => e.at.getTime() - assignedAt);
    escalatedAt.forEach((elapsed, i) => expect(elapsed).toBeGreaterThanOrEqual((i + 1) * 1000 - 50));

    const tasks = await h.orm.em.fork().find(TaskSchema, { lead: leadId }, { orderBy: { createdAt: 'asc' } });
    expect(tasks.map((t) => [t.kind, t.assignee?.id])).toEqual([
      ['first_contact', done.assignee!.id], // moved to the new assignee
      ['escalation', team.managerId],
    ]);
    const state = await explain(leadId);
    expect(state).toMatchObject({ escalationLevel: 4, deadlines: [] });
    saveHistory(leadId, 'escalation-chain');
  }, 30_000);
});

describe('pause', () => {
  it('stops the clock: the time paused does not count toward the SLA', async () => {
    const team = await h.createTeam('Pause', [{}], { ...still, firstContactSla: '3s', escalation: [{ after: '3s', action: 'remind_assignee' }] });
    const leadId = await h.startLead(team.id);
    const assignedLead = await assigned(leadId);
    const rep = await loginAs(team.staff[0]!.email);
    const pausedAt = Date.now();
    await request(h.app).post(`/api/leads/${leadId}/pause`).set('Authorization', rep).send({ reason: 'Waiting on the customer' }).expect(200);
    await eventually(async () => (await explain(leadId)).pause);
    const paused = await explain(leadId);
    expect(paused.deadlines.every((d) => d.at === null)).toBe(true);
    expect(paused.nextActionAt).toBeNull();

    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect((await lead(leadId)).escalationLevel).toBe(0);
    await request(h.app).post(`/api/leads/${leadId}/pause`).set('Authorization', rep).send({ reason: 'again' }).expect(409);
    await request(h.app).post(`/api/leads/${leadId}/resume`).set('Authorization', rep).send({}).expect(200);
    const resumedAt = Date.now();

    await eventually(async () => (await lead(leadId)).escalationLevel === 1);
    const escalated = await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: leadId, type: 'escalated' });
    const assignedAt = (await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: leadId, type: 'assigned' })).at.getTime();
    const pausedFor = resumedAt - pausedAt;
    // 3s of counted time, plus the pause, and not much more.
    expect(escalated.at.getTime() - assignedAt).toBeGreaterThanOrEqual(3000 + pausedFor - 1000);
    expect(escalated.at.getTime() - assignedAt).toBeLessThan(3000 + pausedFor + 3000);
    expect(await eventTypes(leadId)).toEqual(['assigned', 'task_created', 'paused', 'resumed', 'escalated']);
    expect(assignedLead.status).toBe('assigned');
    saveHistory(leadId, 'pause-resume');
  }, 30_000);
});

describe('policy changes', () => {
  it('simulates a draft from the same planner, then moves a running lead’s pending deadline when saved', async () => {
    const team = await h.createTeam('Policy', [{}], { ...still, escalation: [{ after: '1h', action: 'remind_assignee' }, { after: '2h', action: 'notify_manager' }] });
    const leadId = await h.startLead(team.id);
    await assigned(leadId);
    const before = await eventually(async () => ((await explain(leadId)).nextActionAt ? explain(leadId) : null));
    expect(before.policyVersion).toBe(1);

    const manager = await loginAs(team.managerEmail);
    const { body: list } = await request(h.app).get('/api/policies').set('Authorization', manager).expect(200);
    expect(list.items).toHaveLength(1);
    const policy = list.items[0] as { id: string; rules: PolicyRules; version: number };
    const draft: PolicyRules = { ...policy.rules, escalation: [{ after: '2s', action: 'remind_assignee' }, { after: '2h', action: 'notify_manager' }] };

    const sim = await request(h.app).post(`/api/policies/${policy.id}/simulate`).set('Authorization', manager).send({ rules: draft }).expect(200);
    expect(sim.body.openLeads).toBe(1);
    const item = sim.body.items[0];
    expect(item.lead.id).toBe(leadId);
    expect(item.current.next).toMatchObject({ kind: 'escalation', action: 'remind_assignee' });
    expect(Date.parse(item.current.next.at)).toBe(Date.parse(before.nextActionAt!));
    expect(item.nextShiftMinutes).toBeLessThan(-55);
    // A staff member may not simulate or save.
    const rep = await loginAs(team.staff[0]!.email);
    await request(h.app).post(`/api/policies/${policy.id}/simulate`).set('Authorization', rep).send({ rules: draft }).expect(404);
    await request(h.app).put(`/api/policies/${policy.id}`).set('Authorization', manager).send({ rules: { ...draft, firstContactSla: 'soon' } }).expect(400);

    const saved = await request(h.app).put(`/api/policies/${policy.id}`).set('Authorization', manager).send({ rules: draft }).expect(200);
    expect(saved.body).toMatchObject({ policy: { version: 2 }, leadsTold: 1, openLeads: 1 });
    await eventually(async () => (await lead(leadId)).escalationLevel === 1);
    const events = await h.orm.em.fork().find(LeadEventSchema, { lead: leadId }, { orderBy: { at: 'asc', id: 'asc' } });
    expect(events.map((e) => [e.type, e.policyVersion])).toEqual([
      ['assigned', 1],
      ['task_created', 1],
      ['policy_applied', 2],
      ['escalated', 2],
    ]);
    const after = await explain(leadId);
    expect(after.policyVersion).toBe(2);
    expect(after.deadlines.map((d) => d.kind === 'escalation' ? d.action : d.kind)).toEqual(['first_contact_sla', 'notify_manager']);

    const versions = await request(h.app).get(`/api/policies/${policy.id}/versions`).set('Authorization', manager).expect(200);
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    saveHistory(leadId, 'policy-change');
  }, 30_000);
});

describe('cadence and closing', () => {
  const cadence: Partial<PolicyRules> = {
    ...still,
    cadence: [
      { after: '0s', action: 'sms', template: 'followup_sms' },
      { after: '1s', action: 'task', title: 'Follow-up call' },
      { after: '3s', action: 'email', template: 'followup_email' },
    ],
  };

  async function contact(leadId: string, email: string) {
    const rep = await loginAs(email);
    await request(h.app).post(`/api/leads/${leadId}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Spoke briefly' }).expect(200);
    return rep;
  }

  it('runs after first contact and stops outreach when the lead replies, with a reply task', async () => {
    const team = await h.createTeam('Reply', [{}], cadence);
    const leadId = await h.startLead(team.id, { name: 'Chatty Lead', phone: '+12025550177', email: 'chatty@example.com' });
    await assigned(leadId);
    await contact(leadId, team.staff[0]!.email);
    // The row is written `queued` before the send and marked `sent` after it: wait for the second write.
    const sms = await eventually(() => h.orm.em.fork().findOne(MessageSchema, { lead: leadId, channel: 'sms', direction: 'outbound', status: { $ne: 'queued' } }));
    expect(sms).toMatchObject({ to: '+12025550177', status: 'sent', template: 'followup_sms' });
    expect(sms.body).toContain('Chatty');

    await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).signal(inboundMessageSignal, { messageId: 'SM-test-1', channel: 'sms' });
    const reply = await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: leadId, kind: 'reply' }));
    expect(reply).toMatchObject({ status: 'open', title: 'Reply to the lead’s text' });
    expect((await explain(leadId)).pause).toMatchObject({ reason: 'lead replied' });
    expect((await lead(leadId)).pauseReason).toBe('lead replied');

    // Well past the email's time: nothing more went out.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(await h.orm.em.fork().count(MessageSchema, { lead: leadId })).toBe(1);
    saveHistory(leadId, 'reply-pauses-outreach');
  }, 30_000);

  it('skips an opted-out channel and records it as suppressed, then closes as unresponsive at the end', async () => {
    const team = await h.createTeam('Unresponsive', [{}], { ...cadence, onCadenceEnd: 'unresponsive', unresponsiveAfter: '1s' });
    const leadId = await h.startLead(team.id, { phone: '+12025550178', email: 'quiet@example.com' });
    await assigned(leadId);
    const em = h.orm.em.fork();
    (await em.findOneOrFail(LeadSchema, leadId)).smsOptOut = true;
    await em.flush();
    await contact(leadId, team.staff[0]!.email);
    const result = await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).result();
    expect(result.status).toBe('unresponsive');

    const closed = await lead(leadId);
    expect(closed.status).toBe('unresponsive');
    const messages = await h.orm.em.fork().find(MessageSchema, { lead: leadId }, { orderBy: { createdAt: 'asc' } });
    expect(messages.map((m) => [m.channel, m.status])).toEqual([
      ['sms', 'suppressed'],
      ['email', 'sent'],
    ]);
    const tasks = await h.orm.em.fork().find(TaskSchema, { lead: leadId }, { orderBy: { createdAt: 'asc' } });
    expect(tasks.map((t) => [t.kind, t.status])).toEqual([
      ['first_contact', 'done'],
      ['follow_up', 'cancelled'],
    ]);
    expect(await eventTypes(leadId)).toEqual([
      'assigned',
      'task_created',
      'contacted',
      'message_suppressed',
      'task_created',
      'message_sent',
      'unresponsive',
    ]);
    saveHistory(leadId, 'cadence-unresponsive');
  }, 30_000);

  it('loses a lead with its reason and refuses to close it again', async () => {
    const team = await h.createTeam('Lose', [{}], cadence);
    const leadId = await h.startLead(team.id);
    await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: leadId, kind: 'first_contact' }));
    const rep = await loginAs(team.staff[0]!.email);
    await request(h.app).post(`/api/leads/${leadId}/lose`).set('Authorization', rep).send({ reason: 'No budget' }).expect(200);
    expect(await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).result()).toMatchObject({ status: 'lost' });
    expect(await lead(leadId)).toMatchObject({ status: 'lost', lostReason: 'No budget' });
    expect((await h.orm.em.fork().findOneOrFail(TaskSchema, { lead: leadId })).status).toBe('cancelled');
    const again = await request(h.app).post(`/api/leads/${leadId}/convert`).set('Authorization', rep).send({}).expect(409);
    expect(again.body.error.code).toBe('lead_closed');
    saveHistory(leadId, 'lost');
  });

  it('still assigns a lead contacted before its workflow got to assign it, so its follow-ups have an owner', async () => {
    // Found by the chaos run: under load the worker lags and a manager's call can beat the first assignment.
    const team = await h.createTeam('EarlyCall', [{}], { ...still, cadence: [{ after: '0s', action: 'task', title: 'Follow-up call' }] });
    const em = h.orm.em.fork();
    const row = em.create(LeadSchema, { name: 'Early Call', team: team.id, source: 'import', status: 'contacted', firstContactAt: new Date() });
    await em.flush();
    // The contact arrives with the start, so the workflow sees it before its first step.
    await h.temporal.workflow.signalWithStart('leadWorkflow', {
      workflowId: leadWorkflowId(row.id),
      taskQueue: h.config.TEMPORAL_TASK_QUEUE,
      args: [{ leadId: row.id }],
      signal: contactedSignal,
      signalArgs: [{ byUserId: team.managerId, at: new Date().toISOString() }],
    });
    const task = await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: row.id, kind: 'follow_up' }));
    expect((await lead(row.id)).assignee?.id).toBe(team.staff[0]!.id);
    expect(task.assignee?.id).toBe(team.staff[0]!.id);
    expect(await eventTypes(row.id)).toEqual(['assigned', 'task_created']);
    // Contact came first: no first-contact task, no SLA.
    expect(await h.orm.em.fork().count(TaskSchema, { lead: row.id, kind: 'first_contact' })).toBe(0);
    saveHistory(row.id, 'contacted-before-assignment');
  });

  it('puts the contact that started the cadence on record when the API’s commit did not happen', async () => {
    // Found by the chaos run: Postgres went down between the API's contact signal and its commit, and the
    // lead ran its cadence and closed as unresponsive with no contact on record.
    const team = await h.createTeam('LostCommit', [{}], still);
    const leadId = await h.startLead(team.id);
    await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: leadId, kind: 'first_contact' }));
    // The signal the API sends before it commits, with nothing committed after it.
    const at = new Date().toISOString();
    await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).signal(contactedSignal, { byUserId: team.staff[0]!.id, at });
    const contacted = await eventually(async () => ((await lead(leadId)).firstContactAt ? lead(leadId) : null));
    expect(contacted).toMatchObject({ status: 'contacted', firstContactAt: new Date(at) });
    const event = await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: leadId, type: 'contacted' }, { populate: ['actor'] });
    expect(event.actor?.id).toBe(team.staff[0]!.id);
    expect(await h.orm.em.fork().findOneOrFail(TaskSchema, { lead: leadId, kind: 'first_contact' })).toMatchObject({ status: 'done' });
  });

  it('leaves no open task behind when a step still in flight lands after the lead closed', async () => {
    // Found by the chaos run: a first-contact task retried after its worker was killed landed after a convert.
    const team = await h.createTeam('LateStep', [{}], still);
    const em = h.orm.em.fork();
    const row = em.create(LeadSchema, { name: 'Late Step', team: team.id, source: 'import' });
    await em.flush();
    const activities = createActivities({ orm: h.orm });
    const key = (step: string) => `${leadWorkflowId(row.id)}:${step}`;
    await activities.closeLead({ leadId: row.id, key: key('close'), policyVersion: 1, status: 'converted', byUserId: team.managerId });
    await activities.createTask({ leadId: row.id, key: key('task:first_contact'), policyVersion: 1, kind: 'first_contact', title: 'First contact', dueAt: new Date().toISOString() });
    expect(await h.orm.em.fork().find(TaskSchema, { lead: row.id })).toEqual([expect.objectContaining({ kind: 'first_contact', status: 'cancelled' })]);
  });

  it('does not undo a close that commits while the first assignment is being decided', async () => {
    // Found by the chaos run: a convert landed while the workflow's assignment ran, and the assignment's
    // write of the lead row put it back to "assigned" under a "converted" timeline entry.
    const team = await h.createTeam('RaceClose', [{}], still);
    const em = h.orm.em.fork();
    const row = em.create(LeadSchema, { name: 'Race Close', team: team.id, source: 'import' });
    await em.flush();
    // The close, as a transaction that holds the lead row until told to commit.
    const close = new pg.Client({ connectionString: h.databaseUrl });
    await close.connect();
    await close.query('begin');
    await close.query('select id from lead where id = $1 for update', [row.id]);
    const assignment = createActivities({ orm: h.orm }).assignLead({ leadId: row.id, key: `${leadWorkflowId(row.id)}:assign:0`, policyVersion: 1, exclude: [], reason: 'new_lead' });
    // Once the assignment waits on the lead row, the close commits.
    await eventually(async () => (await close.query(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)).rowCount);
    await close.query(`update lead set status = 'converted', converted_at = now() where id = $1`, [row.id]);
    await close.query('commit');
    await close.end();
    expect((await assignment).assigneeId).toBeNull();
    expect(await lead(row.id)).toMatchObject({ status: 'converted', assignee: null });
    expect(await eventTypes(row.id)).toEqual(['assignment_skipped']);
  });

  it('still tells the assignee when its first workflow task runs again after the assignment committed', async () => {
    // Found by the chaos run: a restart lost a workflow task whose local steps had already assigned the lead.
    // Run again, the task loaded a lead that was already assigned and took the assignment for no change.
    const team = await h.createTeam('Rerun', [{ notifyBy: ['email'] }], still);
    const em = h.orm.em.fork();
    const row = em.create(LeadSchema, { name: 'Rerun Lead', team: team.id, source: 'import' });
    await em.flush();
    // What the lost task had committed: the assignment, under the key the workflow uses for it.
    const first = await createActivities({ orm: h.orm }).assignLead({ leadId: row.id, key: `${leadWorkflowId(row.id)}:assign:0`, policyVersion: 1, exclude: [], reason: 'new_lead' });
    expect(first.assigneeId).toBe(team.staff[0]!.id);
    await h.temporal.workflow.start('leadWorkflow', { workflowId: leadWorkflowId(row.id), taskQueue: h.config.TEMPORAL_TASK_QUEUE, args: [{ leadId: row.id }] });
    const notice = await eventually(() => h.orm.em.fork().findOne(LeadEventSchema, { lead: row.id, type: 'staff_notified' }));
    expect(notice.data).toMatchObject({ userId: first.assigneeId, notice: 'assignment' });
    // One assignment and one task: the step ran again from its receipt.
    expect((await eventTypes(row.id)).slice(0, 3)).toEqual(['assigned', 'task_created', 'staff_notified']);
  });

  it('lets a manager reassign by hand, and refuses someone outside the team', async () => {
    const team = await h.createTeam('Manual', [{}, {}], still);
    const leadId = await h.startLead(team.id);
    const first = (await assigned(leadId)).assignee!.id;
    const other = team.staff.find((p) => p.id !== first)!;
    const manager = await loginAs(team.managerEmail);
    const outsider = await h.userId('north.rep1@leadline.test');
    const refused = await request(h.app).post(`/api/leads/${leadId}/reassign`).set('Authorization', manager).send({ assigneeId: outsider }).expect(400);
    expect(refused.body.error.details).toEqual([{ path: 'assigneeId', message: expect.any(String) }]);
    const res = await request(h.app).post(`/api/leads/${leadId}/reassign`).set('Authorization', manager).send({ assigneeId: other.id }).expect(200);
    expect(res.body.lead.assignee.id).toBe(other.id);
    const event = await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: leadId, type: 'reassigned' }, { populate: ['actor'] });
    expect(event).toMatchObject({ data: { from: first, to: other.id, reason: 'manual' } });
    expect(event.actor?.id).toBe(team.managerId);
    const rep = await loginAs(other.email);
    await request(h.app).post(`/api/leads/${leadId}/reassign`).set('Authorization', rep).send({ assigneeId: first }).expect(403);
  });
});

describe('long lives', () => {
  it('continue as new with their state, without repeating a step', async () => {
    const team = await h.createTeam('Long', [{}], {
      ...still,
      cadence: Array.from({ length: 8 }, (_, i) => ({ after: `${i}s`, action: 'task' as const, title: `Step ${i + 1}` })),
    });
    const leadId = await h.startLead(team.id, {}, { historyLimit: 25 });
    const handle = h.temporal.workflow.getHandle(leadWorkflowId(leadId));
    const { runId: firstRunId } = await handle.describe();
    await assigned(leadId);
    await loginAs(team.staff[0]!.email).then((rep) =>
      request(h.app).post(`/api/leads/${leadId}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Hello' }).expect(200),
    );
    await eventually(async () => (await h.orm.em.fork().count(TaskSchema, { lead: leadId, kind: 'follow_up' })) === 8, 30_000);
    const described = await handle.describe();
    expect(described.runId).not.toBe(firstRunId);
    const titles = (await h.orm.em.fork().find(TaskSchema, { lead: leadId, kind: 'follow_up' }, { orderBy: { createdAt: 'asc' } })).map((t) => t.title);
    expect(titles).toEqual(Array.from({ length: 8 }, (_, i) => `Step ${i + 1}`));
    expect(await explain(leadId)).toMatchObject({ phase: 'cadence', assigneeId: team.staff[0]!.id, plan: { cadenceDone: 8 } });
    // The run that handed over, ending in its continue-as-new.
    saveHistory(leadId, 'continued-as-new', firstRunId);
  }, 60_000);
});
