import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { LeadSchema, TaskSchema } from '../db/entities.js';
import type { TaskKind } from '../domain/lead.js';
import { eventually, stillPolicy, type Harness } from './harness.js';
import { screenshots, startWebApp, type WebApp } from './webApp.js';

let web: WebApp;
let h: Harness;

beforeAll(async () => {
  web = await startWebApp();
  ({ h } = web);
});

afterAll(async () => {
  await web?.stop();
});

const MINUTE = 60_000;

/** A lead row without a workflow, for tasks whose completion does not signal one. */
async function insertLead(teamId: string, assigneeId: string, name: string, phone?: string): Promise<string> {
  const em = h.orm.em.fork();
  const lead = em.create(LeadSchema, { name, team: teamId, assignee: assigneeId, status: 'assigned', source: 'test', phone: phone ?? null });
  await em.flush();
  return lead.id;
}

async function insertTask(leadId: string, assigneeId: string, task: { kind: TaskKind; title: string; dueInMinutes: number }): Promise<string> {
  const em = h.orm.em.fork();
  const lead = await em.findOneOrFail(LeadSchema, leadId);
  const row = em.create(TaskSchema, { lead, team: lead.team, assignee: assigneeId, kind: task.kind, title: task.title, dueAt: new Date(Date.now() + task.dueInMinutes * MINUTE) });
  await em.flush();
  return row.id;
}

const taskRow = (page: Page, taskId: string) => page.locator(`[data-testid="task-row"][data-task-id="${taskId}"]`);
const shownTaskIds = (page: Page) => page.getByTestId('task-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-task-id')));
/** The `data-testid` of the focused element and the task row it is in. */
const focused = (page: Page) =>
  page.evaluate<{ testId: string | null; taskId: string | null; text: string }>(`(() => {
    const active = document.activeElement;
    return {
      testId: active?.getAttribute('data-testid') ?? null,
      taskId: active?.closest('[data-task-id]')?.getAttribute('data-task-id') ?? null,
      text: active?.textContent?.trim() ?? '',
    };
  })()`);

describe('My tasks', () => {
  it('shows a rep the first-contact task of a new lead as the workflow creates it, and completes it with an outcome in two clicks', async () => {
    const team = await h.createTeam('Inbox', [{}], stillPolicy);
    const rep = team.staff[0]!;
    const page = await web.signIn(rep.email, '/tasks');
    const empty = page.getByTestId('tasks-empty');
    await empty.waitFor();
    await expect(empty.textContent()).resolves.toMatch(/Nothing due\.\s*New tasks appear here as leads come in\./);
    await screenshots(page, 'tasks-empty');

    // The page is open before the lead exists: the task must arrive without a reload.
    const created = await request(h.app)
      .post('/api/leads')
      .set('Authorization', await h.login(team.managerEmail))
      .send({ name: 'Lena Live', phone: '+12025550188' })
      .expect(201);
    const leadId = created.body.lead.id as string;
    const row = page.locator(`[data-testid="task-row"][data-lead-id="${leadId}"]`);
    await row.waitFor();
    await empty.waitFor({ state: 'detached' });
    await expect(row.getByTestId('task-kind').textContent()).resolves.toBe('First contact');
    await expect(row.getByTestId('task-lead').getAttribute('href')).resolves.toBe(`/leads/${leadId}`);
    await expect(row.locator('a[href="tel:+12025550188"]').count()).resolves.toBe(1);
    // A rep sees only their own tasks: no assignee column, no Mine/Team switch.
    await expect(page.getByTestId('task-assignee').count()).resolves.toBe(0);
    await expect(page.getByTestId('tasks-show-team').count()).resolves.toBe(0);

    // The countdown runs: the SLA is an hour, and the text changes while we watch.
    const countdown = row.getByTestId('task-due');
    const first = await countdown.textContent();
    expect(first).toMatch(/^in (59m|1h)/);
    await eventually(async () => (await countdown.textContent()) !== first);

    await row.getByTestId('task-done').click();
    const outcomes = row.getByTestId('task-outcome');
    await expect(outcomes.allTextContents()).resolves.toEqual(['Reached them', 'Left a voicemail', 'No answer']);
    await screenshots(page, 'tasks-menu');
    await outcomes.filter({ hasText: 'Reached them' }).click();

    await expect(page.getByTestId('task-notice').textContent()).resolves.toContain('Contact with Lena Live logged: Reached them.');
    await row.getByTestId('task-finished').waitFor();
    await screenshots(page, 'tasks-done');
    await row.waitFor({ state: 'detached' });
    await empty.waitFor();

    const lead = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId);
    expect(lead.status).toBe('contacted');
    expect(lead.firstContactAt).toBeInstanceOf(Date);
    const task = await h.orm.em.fork().findOneOrFail(TaskSchema, { lead: leadId, kind: 'first_contact' });
    expect([task.status, task.outcome]).toEqual(['done', 'Reached them']);
    await page.close();
  });

  it('lists overdue tasks first, says by how much, and can be worked from the keyboard', async () => {
    const team = await h.createTeam('Overdue', [{}], stillPolicy);
    const rep = team.staff[0]!;
    const olive = await insertLead(team.id, rep.id, 'Olive Overdue', '+12025550171');
    const larry = await insertLead(team.id, rep.id, 'Larry Later', '+12025550172');
    const later = await insertTask(larry, rep.id, { kind: 'follow_up', title: 'Call again about pricing', dueInMinutes: 90 });
    const overdueLong = await insertTask(olive, rep.id, { kind: 'reply', title: 'Reply to the lead’s text', dueInMinutes: -125 });
    const soon = await insertTask(larry, rep.id, { kind: 'follow_up', title: 'Send the brochure', dueInMinutes: 10 });
    const overdueShort = await insertTask(olive, rep.id, { kind: 'follow_up', title: 'Second call', dueInMinutes: -5 });

    const page = await web.signIn(rep.email, '/tasks');
    await page.getByTestId('task-row').first().waitFor();
    await expect(shownTaskIds(page)).resolves.toEqual([overdueLong, overdueShort, soon, later]);
    const overdue = await page.getByTestId('task-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-overdue')));
    expect(overdue).toEqual(['true', 'true', 'false', 'false']);
    await expect(taskRow(page, overdueLong).getByTestId('task-due').textContent()).resolves.toMatch(/^Overdue by 2h 5m$/);
    await expect(taskRow(page, overdueShort).getByTestId('task-due').textContent()).resolves.toMatch(/^Overdue by [45]m/);
    await expect(taskRow(page, soon).getByTestId('task-due').textContent()).resolves.toMatch(/^in (9|10)m/);
    await expect(page.getByTestId('tasks-summary').textContent()).resolves.toMatch(/4 open · 2 overdue/);
    await screenshots(page, 'tasks');

    // Keyboard: Enter opens the outcomes on the first one, Escape closes them and gives focus back.
    const done = taskRow(page, later).getByTestId('task-done');
    await done.focus();
    await page.keyboard.press('Enter');
    await expect(focused(page)).resolves.toMatchObject({ testId: 'task-outcome', taskId: later, text: 'Reached them' });
    await page.keyboard.press('ArrowDown');
    await expect(focused(page)).resolves.toMatchObject({ testId: 'task-outcome', text: 'Left a voicemail' });
    await page.keyboard.press('Escape');
    await taskRow(page, later).getByTestId('task-outcomes').waitFor({ state: 'detached' });
    await expect(focused(page)).resolves.toMatchObject({ testId: 'task-done', taskId: later });

    // "Other…" takes an outcome in the user's words.
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await expect(focused(page)).resolves.toMatchObject({ testId: 'task-outcome-other', taskId: later });
    await page.keyboard.press('Enter');
    await expect(focused(page)).resolves.toMatchObject({ testId: 'task-outcome-text', taskId: later });
    await page.keyboard.type('Booked a demo for Friday');
    await page.keyboard.press('Enter');
    await expect(taskRow(page, later).getByTestId('task-finished').textContent()).resolves.toContain('Booked a demo for Friday');
    // Focus goes on to the nearest task still to do, not back to the top of the page.
    await expect(focused(page)).resolves.toMatchObject({ testId: 'task-done', taskId: soon });
    await taskRow(page, later).waitFor({ state: 'detached' });
    await expect(shownTaskIds(page)).resolves.toEqual([overdueLong, overdueShort, soon]);

    const row = await h.orm.em.fork().findOneOrFail(TaskSchema, later);
    expect([row.status, row.outcome]).toEqual(['done', 'Booked a demo for Friday']);
    await page.close();
  });

  it("never shows staff another rep's task, whatever the URL asks for", async () => {
    const team = await h.createTeam('Pair', [{}, {}], stillPolicy);
    const [mine, theirs] = team.staff as [{ id: string; email: string }, { id: string; email: string }];
    const ownTask = await insertTask(await insertLead(team.id, mine.id, 'Mona Mine'), mine.id, { kind: 'follow_up', title: 'Call back', dueInMinutes: 30 });
    const otherTask = await insertTask(await insertLead(team.id, theirs.id, 'Theo Theirs'), theirs.id, { kind: 'follow_up', title: 'Call back', dueInMinutes: -30 });

    const page = await web.signIn(mine.email, '/tasks');
    // Home is the task inbox.
    await page.goto(`${web.base}/`);
    await page.waitForURL((url) => url.pathname === '/tasks');
    await taskRow(page, ownTask).waitFor();
    await expect(page.getByTestId('tasks-title').textContent()).resolves.toBe('My tasks');
    await expect(shownTaskIds(page)).resolves.toEqual([ownTask]);

    await page.goto(`${web.base}/tasks?show=team`);
    await taskRow(page, ownTask).waitFor();
    await expect(shownTaskIds(page)).resolves.toEqual([ownTask]);
    await expect(page.getByTestId('task-assignee').count()).resolves.toBe(0);
    await expect(taskRow(page, otherTask).count()).resolves.toBe(0);
    await page.close();
  });

  it("shows a manager the team's tasks with who holds each, and only their own under Mine", async () => {
    const team = await h.createTeam('Crew', [{}, {}], stillPolicy);
    const [rep1, rep2] = team.staff as [{ id: string; email: string }, { id: string; email: string }];
    const lead1 = await insertLead(team.id, rep1.id, 'Cora Crew', '+12025550181');
    const lead2 = await insertLead(team.id, rep2.id, 'Carl Crew', '+12025550182');
    const rep1Task = await insertTask(lead1, rep1.id, { kind: 'follow_up', title: 'Call again', dueInMinutes: 45 });
    const rep2Task = await insertTask(lead2, rep2.id, { kind: 'reply', title: 'Reply to the lead’s email', dueInMinutes: -20 });
    const managerTask = await insertTask(lead2, team.managerId, { kind: 'escalation', title: 'Lead Carl Crew missed its first-contact SLA', dueInMinutes: -3 });
    // Another team's task, which this manager may not read.
    const elsewhere = await h.createTeam('Elsewhere', [{}], stillPolicy);
    const foreignTask = await insertTask(await insertLead(elsewhere.id, elsewhere.staff[0]!.id, 'Far Away'), elsewhere.staff[0]!.id, { kind: 'follow_up', title: 'Call', dueInMinutes: -60 });

    const page = await web.signIn(team.managerEmail, '/tasks');
    await taskRow(page, rep1Task).waitFor();
    await expect(page.getByTestId('tasks-title').textContent()).resolves.toBe('Team tasks');
    await expect(shownTaskIds(page)).resolves.toEqual([rep2Task, managerTask, rep1Task]);
    await expect(taskRow(page, foreignTask).count()).resolves.toBe(0);
    const holders = await page.getByTestId('task-assignee').allTextContents();
    expect(holders.map((text) => text.replace('Assignee', '').trim())).toEqual(['Crew Rep 2', 'Crew Manager', 'Crew Rep 1']);
    await expect(page.getByTestId('tasks-show-team').getAttribute('aria-pressed')).resolves.toBe('true');
    await screenshots(page, 'tasks-team');

    await page.getByTestId('tasks-show-mine').click();
    await page.waitForURL((url) => url.searchParams.get('show') === 'mine');
    await taskRow(page, rep1Task).waitFor({ state: 'detached' });
    await expect(shownTaskIds(page)).resolves.toEqual([managerTask]);
    await expect(page.getByTestId('tasks-title').textContent()).resolves.toBe('My tasks');
    await expect(page.getByTestId('task-assignee').count()).resolves.toBe(0);
    await expect(taskRow(page, managerTask).getByTestId('task-kind').textContent()).resolves.toBe('Escalation');

    await page.getByTestId('tasks-show-team').click();
    await taskRow(page, rep1Task).waitFor();
    await expect(shownTaskIds(page)).resolves.toEqual([rep2Task, managerTask, rep1Task]);
    await page.close();
  });

  it('says when the tasks cannot be loaded and loads them on "Try again"', async () => {
    const team = await h.createTeam('Flaky', [{}], stillPolicy);
    const rep = team.staff[0]!;
    const task = await insertTask(await insertLead(team.id, rep.id, 'Fay Flaky'), rep.id, { kind: 'follow_up', title: 'Call back', dueInMinutes: 30 });

    const page = await web.signIn(rep.email, '/leads');
    await page.route('**/api/tasks?*', (route) => route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { code: 'internal', message: 'Something went wrong on our side' } }) }));
    await page.getByTestId('nav-tasks').click();
    const error = page.getByTestId('tasks-error');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain('Something went wrong on our side');
    await screenshots(page, 'tasks-error');

    await page.unroute('**/api/tasks?*');
    await page.getByTestId('tasks-retry').click();
    await taskRow(page, task).waitFor();
    await expect(error.count()).resolves.toBe(0);
    await page.close();
  });
});
