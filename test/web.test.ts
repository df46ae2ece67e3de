import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { demoUsers } from '../db/seeders/DemoSeeder.js';
import { LeadSchema, PolicyVersionSchema, type Lead } from '../db/entities.js';
import type { PolicyRules } from '../domain/policy.js';
import { eventually, stillPolicy, type Harness } from './harness.js';
import { screenshots, shots, startWebApp, type WebApp } from './webApp.js';

let web: WebApp;
let h: Harness;
let base: string;

beforeAll(async () => {
  web = await startWebApp();
  ({ h, base } = web);
});

afterAll(async () => {
  await web?.stop();
});

/** Wall time and minutes-long steps: the lead has pending deadlines, and none of them fires during a test. */
const slowClocks: Partial<PolicyRules> = {
  businessHoursOnly: false,
  firstContactSla: '30m',
  escalation: [
    { after: '10m', action: 'remind_assignee' },
    { after: '20m', action: 'notify_manager' },
  ],
};

const assigned = (leadId: string) => web.assigned(leadId);
const signIn = (email: string) => web.signIn(email);

/** The names in the leads list, top to bottom. */
const rowNames = (page: Page) => page.locator('[data-testid="lead-row"] .cell-name a').allTextContents();

/** Waits for the leads list to show exactly these names in this order (it reloads after each URL change). */
async function expectRows(page: Page, names: string[]) {
  await eventually(async () => JSON.stringify(await rowNames(page)) === JSON.stringify(names), 10_000).catch(() => undefined);
  expect(await rowNames(page)).toEqual(names);
}

const pad = (n: number) => String(n).padStart(2, '0');
/** `YYYY-MM-DD` of a local date, as a date input holds it; the browser runs in this process's time zone. */
const dayText = (date: Date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
/** Local time `days` ago at `hour`. */
function daysAgo(days: number, hour = 12): Date {
  const today = new Date();
  return new Date(today.getFullYear(), today.getMonth(), today.getDate() - days, hour);
}

type LeadRow = Partial<Pick<Lead, 'status' | 'escalationLevel' | 'queuedAt' | 'pausedAt' | 'pauseReason' | 'firstContactAt'>> & {
  name: string;
  createdAt: Date;
  assigneeId?: string;
};

/**
 * Lead rows without workflows, for what only reads the database (the list): each field exactly as
 * given, which a running workflow would not leave alone.
 */
async function insertLeads(teamId: string, rows: LeadRow[]): Promise<Map<string, string>> {
  const em = h.orm.em.fork();
  const created = rows.map(({ name, createdAt: _createdAt, assigneeId, ...fields }) =>
    em.create(LeadSchema, { name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.com`, team: teamId, assignee: assigneeId, source: 'import', ...fields }),
  );
  await em.flush();
  // `createdAt` is set on insert; back-date it afterwards.
  for (const [i, lead] of created.entries()) await em.nativeUpdate(LeadSchema, { id: lead.id }, { createdAt: rows[i]!.createdAt });
  return new Map(created.map((lead) => [lead.name, lead.id]));
}

/**
 * Waits for the lead page's pending deadlines to read a certain way: all paused, none paused, or a
 * given first one. The page re-reads the lead every few seconds; workflow changes land on one of those reads.
 */
function untilDeadlines(page: Page, expected: { paused?: boolean; first?: string }) {
  return eventually(async () => {
    const texts = await page.getByTestId('deadline').allTextContents();
    if (texts.length === 0) return false;
    if (expected.paused !== undefined && !texts.every((text) => text.includes('paused') === expected.paused)) return false;
    return expected.first === undefined || texts[0]!.includes(expected.first);
  });
}

describe('the web app in a real browser', () => {
  it.each(demoUsers.map((u) => [u.email, u.name]))('signs in %s and shows who is signed in', async (email, name) => {
    const page = await signIn(email);
    await expect(page.getByTestId('current-user').textContent()).resolves.toContain(name);
    await page.getByTestId('sign-out').click();
    await page.waitForURL(/\/sign-in/);
    await page.close();
  });

  it('lists the demo accounts on the sign-in page and signs in as the one picked', async () => {
    await web.browser.context.clearCookies();
    const page = await web.browser.context.newPage();
    await page.goto(`${base}/sign-in`);
    await expect(page.getByTestId('demo-accounts').textContent()).resolves.toContain('Password leadline');
    await expect(page.getByTestId('demo-account').count()).resolves.toBe(demoUsers.length);
    await page.locator('[data-testid="demo-account"][data-email="south.rep1@leadline.test"]').click();
    await page.waitForURL((url) => url.pathname === '/tasks');
    await expect(page.getByTestId('current-user').textContent()).resolves.toContain('Sue Rep');
    await page.close();
  });

  it('refuses a wrong password with a message', async () => {
    await web.browser.context.clearCookies();
    const page = await web.browser.context.newPage();
    await page.goto(`${base}/sign-in`);
    await page.getByTestId('sign-in-email').fill('north.rep1@leadline.test');
    await page.getByTestId('sign-in-password').fill('wrong');
    await page.getByTestId('sign-in-submit').click();
    await expect(page.getByTestId('sign-in-error').textContent()).resolves.toMatch(/wrong/i);
    await page.close();
  });

  it('lets a rep open their lead and log contact, and a manager follow it to the Temporal UI', async () => {
    const manager = await h.login('north.manager@leadline.test');
    const created = await request(h.app).post('/api/leads').set('Authorization', manager).send({ name: 'Browser Lead', email: 'browser@example.com' }).expect(201);
    const leadId = created.body.lead.id as string;
    const lead = await assigned(leadId);

    const page = await signIn(lead.assignee!.email);
    await page.locator(`[data-testid="lead-row"][data-lead-id="${leadId}"]`).click();
    await page.waitForURL(new RegExp(`/leads/${leadId}`));
    await page.getByTestId('action-contact').click();
    await page.getByTestId('contact-outcome').fill('Called, left a voicemail');
    await page.getByTestId('contact-submit').click();
    await page.getByTestId('lead-status').filter({ hasText: /contacted/i }).waitFor();
    await page.screenshot({ path: `${shots}/lead-contacted.png`, fullPage: true });
    expect((await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).status).toBe('contacted');
    await page.close();

    const managerPage = await signIn('north.manager@leadline.test');
    await managerPage.goto(`${base}/leads/${leadId}`);
    const link = managerPage.getByTestId('temporal-link');
    await expect(link.getAttribute('href')).resolves.toBe(`${h.config.TEMPORAL_UI_URL}/namespaces/default/workflows/lead-${leadId}`);
    await managerPage.close();
  });
});

describe('lead clocks and hand-overs in the browser', () => {
  it('lets a manager pause a lead, which stops its clocks, and resume it', async () => {
    const team = await h.createTeam('Pausers', [{}, {}], slowClocks);
    const leadId = await h.startLead(team.id, { name: 'Paula Pause', email: 'paula@example.com' });
    await assigned(leadId);

    const page = await signIn(team.managerEmail);
    await page.goto(`${base}/leads/${leadId}`);
    await untilDeadlines(page, { paused: false, first: 'Escalation 1: remind the assignee' });
    await page.getByTestId('action-pause').click();
    await expect(page.getByTestId('pause-reason').inputValue()).resolves.toBe('Waiting on the customer');
    await page.getByTestId('pause-submit').click();
    await page.getByTestId('lead-paused-badge').waitFor();
    await untilDeadlines(page, { paused: true });
    await expect(page.getByTestId('workflow-pause').textContent()).resolves.toMatch(/Paused: Waiting on the customer — clocks stopped since/);
    await expect(page.getByTestId('action-pause').count()).resolves.toBe(0);
    await page.locator('[data-testid="timeline-item"][data-type="paused"]').filter({ hasText: 'Paused: Waiting on the customer' }).waitFor();
    await screenshots(page, 'lead-paused');
    expect((await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).pauseReason).toBe('Waiting on the customer');

    await page.getByTestId('action-resume').click();
    await page.getByTestId('lead-paused-badge').waitFor({ state: 'detached' });
    await untilDeadlines(page, { paused: false, first: 'Escalation 1: remind the assignee' });
    await page.getByTestId('action-pause').waitFor();
    expect((await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).pausedAt).toBeNull();
    await page.close();
  });

  it('lets a manager reassign a lead to another rep of the team', async () => {
    const team = await h.createTeam('Handover', [{}, {}], slowClocks);
    const leadId = await h.startLead(team.id, { name: 'Hank Handover', email: 'hank@example.com' });
    const lead = await assigned(leadId);
    const other = team.staff.find((person) => person.id !== lead.assignee!.id)!;
    const otherName = `Handover Rep ${team.staff.indexOf(other) + 1}`;

    const page = await signIn(team.managerEmail);
    await page.goto(`${base}/leads/${leadId}`);
    await page.getByTestId('action-reassign').click();
    await page.getByTestId('reassign-assignee').selectOption(other.id);
    await page.getByTestId('reassign-submit').click();
    await page.getByTestId('lead-assignee').filter({ hasText: otherName }).waitFor();
    await page.locator('[data-testid="timeline-item"][data-type="reassigned"]').filter({ hasText: `to ${otherName}` }).waitFor();
    expect((await h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['assignee'] })).assignee?.id).toBe(other.id);
    await page.close();
  });

  it('shows a lead nobody can take waiting in the queue, and lets the manager assign it by hand', async () => {
    const team = await h.createTeam('Crowded', [{ capacity: 0 }], slowClocks);
    const leadId = await h.startLead(team.id, { name: 'Quinn Queue', email: 'quinn@example.com' });
    await eventually(async () => (await h.orm.em.fork().findOne(LeadSchema, leadId))?.queuedAt);

    const page = await signIn(team.managerEmail);
    await page.goto(`${base}/leads/${leadId}`);
    await page.getByTestId('lead-queued-badge').waitFor();
    await expect(page.getByTestId('workflow-queue').textContent()).resolves.toMatch(/Waiting in the team queue since .+; next chance when capacity frees/);
    await expect(page.getByTestId('candidates').textContent()).resolves.toContain('at capacity');
    await screenshots(page, 'lead-queued');

    await page.getByTestId('action-reassign').click();
    await page.getByTestId('reassign-assignee').selectOption(team.staff[0]!.id);
    await page.getByTestId('reassign-submit').click();
    await page.getByTestId('lead-assignee').filter({ hasText: 'Crowded Rep 1' }).waitFor();
    await page.getByTestId('lead-queued-badge').waitFor({ state: 'detached' });
    await page.close();
  });

  it('does not offer pausing or reassigning to a rep on a lead that is not theirs to reassign', async () => {
    const team = await h.createTeam('Solo', [{}], slowClocks);
    const leadId = await h.startLead(team.id, { name: 'Sol Solo', email: 'sol@example.com' });
    await assigned(leadId);
    const page = await signIn(team.staff[0]!.email);
    await page.goto(`${base}/leads/${leadId}`);
    await page.getByTestId('action-pause').waitFor();
    await expect(page.getByTestId('action-reassign').count()).resolves.toBe(0);
    await page.close();
  });
});

describe('the policies page', () => {
  it('lets a manager simulate a faster escalation, save it, and see the open lead move', async () => {
    const team = await h.createTeam('Tuners', [{}], slowClocks);
    const leadId = await h.startLead(team.id, { name: 'Tina Tune', email: 'tina@example.com' });
    await assigned(leadId);

    const page = await signIn(team.managerEmail);
    await page.goto(`${base}/leads/${leadId}`);
    await untilDeadlines(page, { first: 'Escalation 1: remind the assignee' });

    await page.getByTestId('nav-policies').click();
    await page.waitForURL((url) => url.pathname === '/policies');
    await page.getByTestId('policy-editor').waitFor();
    await expect(page.getByTestId('policy-sla').inputValue()).resolves.toBe('30m');

    // The API's message for a bad field is shown next to that field.
    await page.getByTestId('policy-sla').fill('soon');
    await page.getByTestId('policy-simulate').click();
    const slaError = page.locator('.field', { has: page.getByTestId('policy-sla') }).getByTestId('field-error');
    await expect(slaError.textContent()).resolves.toMatch(/whole number followed by s, m, h or d/);
    await page.screenshot({ path: `${shots}/policies-field-error.png` });
    await page.getByTestId('policy-sla').fill('30m');
    await expect(slaError.count()).resolves.toBe(0);

    await page.getByTestId('policy-escalation-after-0').fill('2s');
    await page.getByTestId('policy-simulate').click();
    const summary = page.getByTestId('simulation-summary');
    await summary.waitFor();
    expect(Number(await summary.getAttribute('data-sooner'))).toBeGreaterThanOrEqual(1);
    await expect(page.getByTestId('simulation-row').filter({ hasText: 'Tina Tune' }).textContent()).resolves.toMatch(/sooner/);
    await screenshots(page, 'policies-simulation');

    await page.getByTestId('policy-save').click();
    await expect(page.getByTestId('policy-saved').textContent()).resolves.toContain('Version 2 saved; 1 open lead told.');
    await page.locator('[data-testid="policy-version"]').nth(1).waitFor();
    await expect(page.getByTestId('policy-version').count()).resolves.toBe(2);
    await expect(page.getByTestId('policy-diff').first().textContent()).resolves.toMatch(/Escalation step 1 · after\s*10m\s*→\s*(changed to\s*)?2s/);
    await screenshots(page, 'policies-saved');

    // The first step is overdue under version 2: the workflow runs it, and the next deadline is step 2.
    await page.goto(`${base}/leads/${leadId}`);
    await untilDeadlines(page, { first: 'Escalation 2: notify the manager' });
    await page.getByTestId('lead-escalation').filter({ hasText: 'Escalation 1' }).waitFor();
    await page.locator('[data-testid="timeline-item"][data-type="policy_applied"]').filter({ hasText: 'policy v2' }).waitFor();
    await expect(page.getByTestId('workflow-policy-version').textContent()).resolves.toContain('version 2');
    await screenshots(page, 'lead-policy-applied');
    await page.close();
  });

  it('shows ops the rules read-only', async () => {
    const page = await signIn('ops@leadline.test');
    await page.getByTestId('nav-policies').click();
    await page.getByTestId('policy-editor').waitFor();
    await expect(page.getByTestId('policy-sla').isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('policy-save').count()).resolves.toBe(0);
    await page.close();
  });

  it('has no Policies link for staff and sends them back to the leads', async () => {
    const page = await signIn('north.rep1@leadline.test');
    await expect(page.getByTestId('nav-policies').count()).resolves.toBe(0);
    await page.goto(`${base}/policies`);
    await page.waitForURL((url) => url.pathname === '/leads');
    await page.getByTestId('leads-table').waitFor();
    await page.close();
  });
});

describe('the leads list', () => {
  it('lets a manager filter by assignee and created range, keeps filters and paging across a reload, and clears them', async () => {
    const team = await h.createTeam('Sieve', [{}, {}], stillPolicy);
    const [rep1, rep2] = team.staff.map((person) => person.id);
    const fillers = Array.from({ length: 10 }, (_, i) => ({ name: `Filler ${pad(i + 1)}`, createdAt: daysAgo(40 + i) }));
    const ids = await insertLeads(team.id, [
      // Exactly 10 days and an hour ago, for its SLA clock; the range filters below look at other days.
      { name: 'Ada Early', createdAt: new Date(Date.now() - (10 * 24 + 1) * 3_600_000), assigneeId: rep1, status: 'assigned' },
      { name: 'Bo Middle', createdAt: daysAgo(5, 10), assigneeId: rep1, status: 'assigned', escalationLevel: 2 },
      { name: 'Cy Middle', createdAt: daysAgo(5, 11), assigneeId: rep2, status: 'assigned', pausedAt: new Date(), pauseReason: 'Waiting on the customer' },
      { name: 'Di Recent', createdAt: new Date(Date.now() - 60_000), assigneeId: rep1, status: 'assigned' },
      { name: 'Eve Queued', createdAt: daysAgo(1), queuedAt: daysAgo(1) },
      { name: 'Fay Contacted', createdAt: daysAgo(2), assigneeId: rep2, status: 'contacted', firstContactAt: new Date(daysAgo(2).getTime() + 5 * 60_000) },
      ...fillers,
    ]);
    const everyone = ['Di Recent', 'Eve Queued', 'Fay Contacted', 'Cy Middle', 'Bo Middle', 'Ada Early', ...fillers.map((row) => row.name)];

    const page = await signIn(team.managerEmail);
    await expectRows(page, everyone);
    await expect(page.getByTestId('page-range').textContent()).resolves.toBe('1–16 of 16');
    // One team: no team filter to offer a manager.
    await expect(page.getByTestId('leads-team-filter').count()).resolves.toBe(0);

    // Each row carries what it has: escalation level, pause, queue, and the SLA clock.
    const row = (name: string) => page.locator(`[data-testid="lead-row"][data-lead-id="${ids.get(name)}"]`);
    await expect(row('Bo Middle').getByTestId('lead-row-escalation').textContent()).resolves.toMatch(/2/);
    await expect(row('Cy Middle').getByTestId('lead-row-paused').count()).resolves.toBe(1);
    await expect(row('Eve Queued').getByTestId('lead-row-queued').count()).resolves.toBe(1);
    await expect(row('Ada Early').locator('.badge').allTextContents()).resolves.toEqual(['Assigned']);
    await expect(row('Fay Contacted').getByTestId('lead-row-sla').textContent()).resolves.toBe('✓ 5m');
    await expect(row('Ada Early').getByTestId('lead-row-sla').getAttribute('class')).resolves.toContain('sla-waiting');
    await expect(row('Ada Early').getByTestId('lead-row-sla').textContent()).resolves.toBe('10d 1h');
    await screenshots(page, 'leads');

    await page.getByTestId('leads-assignee-filter').selectOption(rep1!);
    await expectRows(page, ['Di Recent', 'Bo Middle', 'Ada Early']);
    await page.getByTestId('leads-created-from').fill(dayText(daysAgo(6)));
    await page.getByTestId('leads-created-to').fill(dayText(daysAgo(4)));
    await expectRows(page, ['Bo Middle']);
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ assignee: rep1, from: dayText(daysAgo(6)), to: dayText(daysAgo(4)) });
    await page.getByTestId('leads-created-to').blur();
    await screenshots(page, 'leads-filtered');

    await page.reload();
    await expectRows(page, ['Bo Middle']);
    await expect(page.getByTestId('leads-assignee-filter').inputValue()).resolves.toBe(rep1);
    await expect(page.getByTestId('leads-created-from').inputValue()).resolves.toBe(dayText(daysAgo(6)));
    await expect(page.getByTestId('leads-created-to').inputValue()).resolves.toBe(dayText(daysAgo(4)));

    // The range alone: both of that day's leads, whoever has them.
    await page.getByTestId('leads-assignee-filter').selectOption('');
    await expectRows(page, ['Cy Middle', 'Bo Middle']);

    await page.getByTestId('leads-clear-filters').click();
    await expectRows(page, everyone);
    expect(new URL(page.url()).search).toBe('');

    // Paging: ten a page, the second page, and both survive a reload.
    await page.getByTestId('page-size').selectOption('10');
    await expectRows(page, everyone.slice(0, 10));
    await expect(page.getByTestId('page-prev').isDisabled()).resolves.toBe(true);
    await page.getByTestId('page-next').click();
    await expectRows(page, everyone.slice(10));
    await expect(page.getByTestId('page-range').textContent()).resolves.toBe('11–16 of 16');
    await expect(page.getByTestId('page-next').isDisabled()).resolves.toBe(true);
    await page.reload();
    await expectRows(page, everyone.slice(10));
    await expect(page.getByTestId('page-range').textContent()).resolves.toBe('11–16 of 16');
    await expect(page.getByTestId('page-size').inputValue()).resolves.toBe('10');

    // Nothing created from tomorrow on: the empty state says so and clears the filters, not the page size.
    await page.getByTestId('leads-created-from').fill(dayText(daysAgo(-1)));
    await page.getByTestId('leads-empty').filter({ hasText: 'No leads match these filters.' }).waitFor();
    await expect(rowNames(page)).resolves.toEqual([]);
    await page.getByTestId('leads-empty-clear').click();
    await expectRows(page, everyone.slice(0, 10));
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ size: '10' });
    await page.close();

    // A rep's list is their own leads: nobody else to filter by.
    const repPage = await signIn(team.staff[0]!.email);
    await expectRows(repPage, ['Di Recent', 'Bo Middle', 'Ada Early']);
    await expect(repPage.getByTestId('leads-assignee-filter').count()).resolves.toBe(0);
    await expect(repPage.getByTestId('leads-team-filter').count()).resolves.toBe(0);
    await repPage.close();
  });

  it('lets ops find a lead by team, open it, and follow it into the Temporal UI', async () => {
    const team = await h.createTeam('Watchtower', [{}], stillPolicy);
    const leadId = await h.startLead(team.id, { name: 'Olga Observed', email: 'olga@example.com' });
    await assigned(leadId);

    const page = await signIn('ops@leadline.test');
    await page.getByTestId('leads-team-filter').selectOption({ label: 'Watchtower' });
    await expectRows(page, ['Olga Observed']);
    await page.locator(`[data-testid="lead-row"][data-lead-id="${leadId}"]`).click();
    await page.waitForURL((url) => url.pathname === `/leads/${leadId}`);

    const link = page.getByTestId('temporal-link');
    const workflowUrl = `${h.config.TEMPORAL_UI_URL}/namespaces/default/workflows/lead-${leadId}`;
    await expect(link.getAttribute('href')).resolves.toBe(workflowUrl);
    // It opens in a new tab; the Temporal UI is a single-page app that fetches the workflow after it loads.
    const [ui] = await Promise.all([web.browser.context.waitForEvent('page'), link.click()]);
    await ui.waitForURL((url) => url.href.startsWith(workflowUrl));
    await ui.getByText(`lead-${leadId}`).first().waitFor();
    await ui.getByText('Running', { exact: true }).first().waitFor();
    await screenshots(ui, 'temporal-ui');
    await ui.close();
    await page.close();
  });
});

describe('the policy step editor', () => {
  it('lets a manager add, reorder and remove cadence steps, and saves exactly that cadence', async () => {
    const team = await h.createTeam('Cadence', [{}], {
      ...slowClocks,
      cadence: [
        { after: '1d', action: 'task', title: 'Intro call' },
        { after: '3d', action: 'sms', template: 'followup_sms' },
      ],
    });
    const leadId = await h.startLead(team.id, { name: 'Cal Cadence', email: 'cal@example.com' });
    await assigned(leadId);

    const page = await signIn(team.managerEmail);
    await page.goto(`${base}/policies`);
    await page.getByTestId('policy-editor').waitFor();
    // A string, as this file is compiled without the DOM types.
    const focused = () => page.evaluate<string>(`document.activeElement?.id || document.activeElement?.getAttribute('aria-label')`);
    const texts = async () => {
      const count = await page.locator('[data-step^="cadence-"]').count();
      return Promise.all(Array.from({ length: count }, (_, i) => page.getByTestId(`policy-cadence-text-${i}`).inputValue()));
    };
    await expect(texts()).resolves.toEqual(['Intro call', 'followup_sms']);

    // A new step starts where the last one is, with the focus in its "after".
    await page.getByTestId('policy-add-cadence').click();
    await expect(page.getByTestId('policy-cadence-after-2').inputValue()).resolves.toBe('3d');
    await expect(focused()).resolves.toBe('policy-cadence-after-2');
    await page.getByTestId('policy-cadence-after-2').fill('2d');
    await page.getByTestId('policy-cadence-text-2').fill('Second call');

    // Moved up, the step keeps its fields and the focus follows it.
    await page.getByRole('button', { name: 'Move cadence step 3 up' }).click();
    await expect(texts()).resolves.toEqual(['Intro call', 'Second call', 'followup_sms']);
    await expect(page.getByTestId('policy-cadence-after-1').inputValue()).resolves.toBe('2d');
    await expect(focused()).resolves.toBe('Move cadence step 2 up');

    await page.getByTestId('policy-remove-cadence-0').click();
    await expect(texts()).resolves.toEqual(['Second call', 'followup_sms']);
    await expect(page.getByTestId('policy-dirty').count()).resolves.toBe(1);
    await screenshots(page, 'policies-cadence');

    await page.getByTestId('policy-simulate').click();
    await page.getByTestId('simulation-row').filter({ hasText: 'Cal Cadence' }).waitFor();
    await page.getByTestId('policy-save').click();
    await expect(page.getByTestId('policy-saved').textContent()).resolves.toContain('Version 2 saved');

    const saved = await h.orm.em.fork().findOneOrFail(PolicyVersionSchema, { policy: { team: team.id }, version: 2 });
    expect(saved.rules.cadence).toEqual([
      { after: '2d', action: 'task', title: 'Second call' },
      { after: '3d', action: 'sms', template: 'followup_sms' },
    ]);
    // The other list is untouched.
    expect(saved.rules.escalation).toEqual(slowClocks.escalation);
    await page.close();
  });
});
