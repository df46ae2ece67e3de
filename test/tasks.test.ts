import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LeadEventSchema, LeadSchema, TaskSchema, TeamSchema } from '../db/entities.js';
import type { TaskKind, TaskStatus } from '../domain/lead.js';
import { eventually, startHarness, type Harness } from './harness.js';

let h: Harness;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  const em = h.orm.em.fork();
  for (const team of await em.find(TeamSchema, {})) ids[team.name] = team.id;
  for (const email of ['north.rep1', 'north.rep2', 'north.manager', 'south.rep1', 'south.manager', 'admin', 'ops']) {
    ids[email] = await h.userId(`${email}@leadline.test`);
  }
});

afterAll(() => h.stop());

const HOUR = 3_600_000;

/** A lead row without a workflow: enough for tasks that do not signal one. */
async function insertLead(team: string, assignee: string, name: string, contact: { phone?: string; email?: string } = {}): Promise<string> {
  const em = h.orm.em.fork();
  const lead = em.create(LeadSchema, { name, team: ids[team]!, assignee: ids[assignee]!, status: 'contacted', source: 'test', ...contact });
  await em.flush();
  return lead.id;
}

async function insertTask(leadId: string, assignee: string, fields: { kind?: TaskKind; title?: string; dueInHours: number; status?: TaskStatus }): Promise<string> {
  const em = h.orm.em.fork();
  const lead = await em.findOneOrFail(LeadSchema, leadId);
  const task = em.create(TaskSchema, {
    lead,
    team: lead.team,
    assignee: ids[assignee]!,
    kind: fields.kind ?? 'follow_up',
    title: fields.title ?? 'Follow-up call',
    dueAt: new Date(Date.now() + fields.dueInHours * HOUR),
    status: fields.status ?? 'open',
    ...(fields.status === 'done' ? { outcome: 'earlier', completedAt: new Date() } : {}),
  });
  await em.flush();
  return task.id;
}

const list = async (email: string, query = '') => {
  const res = await request(h.app).get(`/api/tasks${query}`).set('Authorization', await h.login(`${email}@leadline.test`)).expect(200);
  return { ids: (res.body.items as { id: string }[]).map((t) => t.id), body: res.body };
};

const complete = async (email: string, taskId: string, body: unknown, status: number) =>
  request(h.app).post(`/api/tasks/${taskId}/complete`).set('Authorization', await h.login(`${email}@leadline.test`)).send(body as object).expect(status);

describe('the task inbox', () => {
  const t: Record<string, string> = {};
  let northLead: string;
  let southLead: string;

  beforeAll(async () => {
    northLead = await insertLead('North', 'north.rep1', 'Inbox North', { phone: '+12025550123' });
    const otherNorth = await insertLead('North', 'north.rep2', 'Inbox North Two');
    southLead = await insertLead('South', 'south.rep1', 'Inbox South');
    t.overdueOld = await insertTask(northLead, 'north.rep1', { dueInHours: -2, title: 'Overdue old' });
    t.overdueNew = await insertTask(northLead, 'north.rep1', { dueInHours: -1, kind: 'reply', title: 'Overdue new' });
    t.later = await insertTask(northLead, 'north.rep1', { dueInHours: 5, title: 'Later' });
    t.soon = await insertTask(northLead, 'north.rep1', { dueInHours: 1, kind: 'escalation', title: 'Soon' });
    t.doneLongAgo = await insertTask(northLead, 'north.rep1', { dueInHours: -3, status: 'done', title: 'Done' });
    t.rep2 = await insertTask(otherNorth, 'north.rep2', { dueInHours: 2 });
    t.south = await insertTask(southLead, 'south.rep1', { dueInHours: 2 });
  });

  it('when staff open their inbox, then they see their own open tasks, overdue first, with the lead and how to reach it', async () => {
    const { ids: seen, body } = await list('north.rep1');
    expect(seen).toEqual([t.overdueOld, t.overdueNew, t.soon, t.later]);
    expect(body).toMatchObject({ total: 4, page: 1, pageSize: 25 });
    expect(body.items[0]).toEqual({
      id: t.overdueOld,
      kind: 'follow_up',
      title: 'Overdue old',
      status: 'open',
      dueAt: expect.any(String),
      overdue: true,
      outcome: null,
      completedAt: null,
      createdAt: expect.any(String),
      teamId: ids.North,
      lead: { id: northLead, name: 'Inbox North', phone: '+12025550123', email: null },
      assignee: { id: ids['north.rep1'], name: 'Ned Rep', email: 'north.rep1@leadline.test' },
    });
    expect(body.items.map((i: { overdue: boolean }) => i.overdue)).toEqual([true, true, false, false]);
  });

  it("when staff ask for someone else's tasks, then the filter cannot widen what they see", async () => {
    expect((await list('north.rep1', `?assigneeId=${ids['north.rep2']}`)).ids).toEqual([]);
    expect((await list('north.rep1', `?leadId=${southLead}`)).ids).toEqual([]);
    expect((await list('south.rep1')).ids).toEqual([t.south]);
  });

  it('when the status filter includes closed tasks, then overdue open tasks still come first, then by due time', async () => {
    const { ids: seen } = await list('north.rep1', '?status=open,done');
    expect(seen).toEqual([t.overdueOld, t.overdueNew, t.doneLongAgo, t.soon, t.later]);
    expect((await list('north.rep1', '?status=done')).ids).toEqual([t.doneLongAgo]);
  });

  it("when a manager opens the inbox, then they see their team's tasks and can filter them", async () => {
    const all = await list('north.manager', '?pageSize=100');
    expect(all.ids).toEqual(expect.arrayContaining([t.overdueOld, t.rep2]));
    expect(all.ids).not.toContain(t.south);
    expect((await list('north.manager', `?assigneeId=${ids['north.rep2']}`)).ids).toEqual([t.rep2]);
    expect((await list('north.manager', '?kind=reply,escalation')).ids).toEqual([t.overdueNew, t.soon]);
    expect((await list('north.manager', `?leadId=${northLead}&dueBefore=${encodeURIComponent(new Date(Date.now() + 2 * HOUR).toISOString())}`)).ids).toEqual([
      t.overdueOld,
      t.overdueNew,
      t.soon,
    ]);
    const page = await list('north.manager', `?leadId=${northLead}&pageSize=1&page=2`);
    expect(page.ids).toEqual([t.overdueNew]);
    expect(page.body).toMatchObject({ total: 4, page: 2, pageSize: 1 });
  });

  it('when admins or ops open the inbox, then they see every team', async () => {
    for (const who of ['admin', 'ops']) expect((await list(who, '?pageSize=100')).ids).toEqual(expect.arrayContaining([t.overdueOld, t.rep2, t.south]));
  });

  it('when the filters are bad, then it answers 400 with their paths', async () => {
    const res = await request(h.app)
      .get('/api/tasks?status=sleeping&kind=x&assigneeId=me&dueBefore=soon&colour=red')
      .set('Authorization', await h.login('north.manager@leadline.test'))
      .expect(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect((res.body.error.details as { path: string }[]).map((d) => d.path).sort()).toEqual(['assigneeId', 'colour', 'dueBefore', 'kind.0', 'status.0']);
  });
});

describe('completing tasks', () => {
  let leadId: string;

  beforeAll(async () => {
    leadId = await insertLead('North', 'north.rep1', 'Completing');
  });

  const events = () => h.orm.em.fork().find(LeadEventSchema, { lead: leadId, type: 'task_completed' }, { populate: ['actor'] });

  it('when staff complete their own task, then it is done, the timeline says so, and a second try is 409', async () => {
    const task = await insertTask(leadId, 'north.rep1', { dueInHours: 1 });
    const res = await complete('north.rep1', task, { outcome: 'Left a voicemail', notes: 'Call back after 3' }, 200);
    expect(res.body.task).toMatchObject({ id: task, status: 'done', outcome: 'Left a voicemail', completedAt: expect.any(String), overdue: false, lead: { id: leadId, name: 'Completing' } });
    const row = await h.orm.em.fork().findOneOrFail(TaskSchema, task);
    expect([row.status, row.outcome]).toEqual(['done', 'Left a voicemail']);
    const [event] = await events();
    expect(event?.actor?.email).toBe('north.rep1@leadline.test');
    expect(event?.data).toEqual({
      taskId: task,
      kind: 'follow_up',
      title: 'Follow-up call',
      before: { status: 'open' },
      after: { status: 'done' },
      outcome: 'Left a voicemail',
      notes: 'Call back after 3',
    });

    const again = await complete('north.rep1', task, { outcome: 'Again' }, 409);
    expect(again.body).toEqual({ error: { code: 'task_closed', message: 'The task is already done' } });
    expect(await events()).toHaveLength(1);
  });

  it("when someone completes a task they may not see, then it is 404; one they may see but not complete, 403; nothing changes", async () => {
    const task = await insertTask(leadId, 'north.rep1', { dueInHours: 1 });
    for (const who of ['north.rep2', 'south.manager']) {
      const res = await complete(who, task, { outcome: 'Mine now' }, 404);
      expect(res.body).toEqual({ error: { code: 'not_found', message: 'Task not found' } });
    }
    const ops = await complete('ops', task, { outcome: 'Looked at it' }, 403);
    expect(ops.body).toEqual({ error: { code: 'forbidden', message: 'You may not complete this task' } });
    await complete('north.rep1', '00000000-0000-4000-8000-000000000000', { outcome: 'x' }, 404);
    await complete('north.rep1', 'not-a-uuid', { outcome: 'x' }, 404);
    expect((await h.orm.em.fork().findOneOrFail(TaskSchema, task)).status).toBe('open');
    expect(await events()).toHaveLength(1);
  });

  it("when a manager completes a task of their team, then it is done and they are the actor", async () => {
    const task = await insertTask(leadId, 'north.rep2', { dueInHours: -1 });
    await complete('north.manager', task, { outcome: 'Covered for Nia' }, 200);
    const event = (await events()).find((e) => e.data.taskId === task);
    expect(event?.actor?.email).toBe('north.manager@leadline.test');
  });

  it('when the body is bad, then it answers 400 with the fields and writes nothing', async () => {
    const task = await insertTask(leadId, 'north.rep1', { dueInHours: 1 });
    const before = await events();
    const res = await complete('north.rep1', task, { outcome: '  ', result: 'ok' }, 400);
    expect(res.body.error.code).toBe('validation_failed');
    expect((res.body.error.details as { path: string }[]).map((d) => d.path).sort()).toEqual(['outcome', 'result']);
    expect((await h.orm.em.fork().findOneOrFail(TaskSchema, task)).status).toBe('open');
    expect(await events()).toHaveLength(before.length);
  });

  it('when the holder of a first-contact task no longer holds the lead, then completing it is forbidden', async () => {
    const moved = await insertLead('North', 'north.rep2', 'Moved On');
    const task = await insertTask(moved, 'north.rep1', { kind: 'first_contact', title: 'First contact', dueInHours: 1 });
    const res = await complete('north.rep1', task, { outcome: 'Called' }, 403);
    expect(res.body).toEqual({ error: { code: 'forbidden', message: 'You may not log contact on this lead' } });
    expect((await h.orm.em.fork().findOneOrFail(TaskSchema, task)).status).toBe('open');
    expect((await h.orm.em.fork().findOneOrFail(LeadSchema, moved)).firstContactAt).toBeNull();
    expect(await h.orm.em.fork().count(LeadEventSchema, { lead: moved })).toBe(0);
  });

  it('when the first-contact task is completed, then the contact is logged and the SLA clock stops', async () => {
    const created = await request(h.app)
      .post('/api/leads')
      .set('Authorization', await h.login('north.manager@leadline.test'))
      .send({ name: 'Fresh Lead', email: 'fresh@example.com' })
      .expect(201);
    const id = created.body.lead.id as string;
    const task = await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: id, kind: 'first_contact', status: 'open' }, { populate: ['assignee'] }));
    const assignee = task.assignee!.email.replace('@leadline.test', '');

    const res = await complete(assignee, task.id, { outcome: 'Spoke to them', notes: 'Wants a demo' }, 200);
    expect(res.body.task).toMatchObject({ id: task.id, kind: 'first_contact', status: 'done', outcome: 'Spoke to them' });
    const lead = await h.orm.em.fork().findOneOrFail(LeadSchema, id);
    expect(lead.status).toBe('contacted');
    expect(lead.firstContactAt).toBeInstanceOf(Date);
    // Both written in the same transaction, so they may share a timestamp: order by type.
    const timeline = await h.orm.em.fork().find(LeadEventSchema, { lead: id, type: { $in: ['contacted', 'task_completed'] } }, { orderBy: { type: 'asc' } });
    expect(timeline.map((e) => [e.type, e.actorKind, e.actor?.id])).toEqual([['contacted', 'user', task.assignee!.id], ['task_completed', 'user', task.assignee!.id]]);
    expect(timeline[0]!.data).toEqual({ channel: 'phone', outcome: 'Spoke to them', notes: 'Wants a demo', first: true });
    expect(timeline[1]!.data).toMatchObject({ taskId: task.id, kind: 'first_contact', before: { status: 'open' }, after: { status: 'done' } });
    await complete(assignee, task.id, { outcome: 'Again' }, 409);
  });
});
