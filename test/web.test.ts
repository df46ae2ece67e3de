import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { demoUsers } from '../db/seeders/DemoSeeder.js';
import { LeadSchema } from '../db/entities.js';
import type { PolicyRules } from '../domain/policy.js';
import { eventually, type Harness } from './harness.js';
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

  it('refuses a wrong password with a message', async () => {
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
    await expect(link.getAttribute('href')).resolves.toBe(`http://localhost:8233/namespaces/default/workflows/lead-${leadId}`);
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
