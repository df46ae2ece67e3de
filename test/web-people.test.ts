import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { TeamSchema, UserSchema } from '../db/entities.js';
import { DEMO_PASSWORD } from '../db/seeders/DemoSeeder.js';
import { allHours, type Harness } from './harness.js';
import { screenshots, startWebApp, type WebApp } from './webApp.js';

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

const userRow = (page: Page, email: string) => page.locator(`[data-testid="user-row"][data-email="${email}"]`);
const teamRow = (page: Page, name: string) => page.locator(`[data-testid="team-row"][data-team-name="${name}"]`);
/** The error shown in the same field as the control with this test id. */
const fieldError = (page: Page, testId: string) => page.locator('.field', { has: page.getByTestId(testId) }).getByTestId('field-error');
const userRowFromDb = (email: string) => h.orm.em.fork().findOneOrFail(UserSchema, { email });

async function openUsers(email: string): Promise<Page> {
  const page = await web.signIn(email);
  await page.getByTestId('nav-users').click();
  await page.waitForURL((url) => url.pathname === '/users');
  await page.getByTestId('user-row').first().waitFor();
  return page;
}

async function openTeams(email: string): Promise<Page> {
  const page = await web.signIn(email);
  await page.getByTestId('nav-teams').click();
  await page.waitForURL((url) => url.pathname === '/teams');
  await page.getByTestId('team-row').first().waitFor();
  return page;
}

async function editUser(page: Page, email: string) {
  await userRow(page, email).getByTestId('user-edit').click();
  await page.getByTestId('user-panel').waitFor();
}

async function saveUser(page: Page) {
  await page.getByTestId('user-save').click();
  await page.getByTestId('user-panel').waitFor({ state: 'hidden' });
  await page.getByTestId('users-notice').waitFor();
}

describe('the users page', () => {
  it("lets a manager change a rep's capacity and set them out of office, and back", async () => {
    const zone = 'America/New_York';
    const backOn = DateTime.now().setZone(zone).plus({ days: 10 }).toISODate()!;
    const page = await openUsers('north.manager@leadline.test');
    await editUser(page, 'north.rep2@leadline.test');

    // A manager gets their staff's assignment settings, not their profile.
    await expect(page.getByTestId('user-email').count()).resolves.toBe(0);
    await expect(page.getByTestId('user-role').count()).resolves.toBe(0);
    await page.getByTestId('user-capacity').fill('7');
    await expect(page.getByTestId('user-away').isChecked()).resolves.toBe(false);
    await page.getByTestId('user-away').check();
    await page.getByTestId('user-back-on').fill(backOn);
    await screenshots(page, 'users-edit');
    const before = Date.now();
    await saveUser(page);

    const away = await userRowFromDb('north.rep2@leadline.test');
    expect(away.capacity).toBe(7);
    expect(away.outOfOfficeFrom!.getTime()).toBeGreaterThanOrEqual(before - 60_000);
    expect(away.outOfOfficeFrom!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(away.outOfOfficeUntil!.toISOString()).toBe(DateTime.fromISO(backOn, { zone }).toUTC().toISO());
    const row = userRow(page, 'north.rep2@leadline.test');
    await expect(row.getByTestId('user-status').textContent()).resolves.toContain('Out of office');
    await expect(row.getByTestId('user-leave').textContent()).resolves.toMatch(/Out · back \w+ \d+/);
    await expect(row.getByTestId('user-load').textContent()).resolves.toMatch(/\d+ \/ 7/);
    await screenshots(page, 'users-out-of-office');

    // Back in the office: the toggle off clears both ends of the leave.
    await editUser(page, 'north.rep2@leadline.test');
    await expect(page.getByTestId('user-away').isChecked()).resolves.toBe(true);
    await expect(page.getByTestId('user-away-status').textContent()).resolves.toMatch(/Out since .+, back on /);
    await page.getByTestId('user-away').uncheck();
    await saveUser(page);
    const back = await userRowFromDb('north.rep2@leadline.test');
    expect([back.outOfOfficeFrom, back.outOfOfficeUntil, back.capacity]).toEqual([null, null, 7]);
    await expect(row.getByTestId('user-leave').textContent()).resolves.toBe('—');
    await expect(row.getByTestId('user-status').textContent()).resolves.toContain('Active');
    await page.close();
  });

  it("shows a manager only their own team's people, and no edit button for themselves", async () => {
    const page = await openUsers('north.manager@leadline.test');
    const emails = await page.getByTestId('user-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-email')));
    expect(emails.sort()).toEqual(['north.manager@leadline.test', 'north.rep1@leadline.test', 'north.rep2@leadline.test', 'north.rep3@leadline.test']);
    await expect(page.getByTestId('users-team-filter').count()).resolves.toBe(0);
    await expect(page.getByTestId('new-user').count()).resolves.toBe(0);
    await expect(userRow(page, 'north.manager@leadline.test').getByTestId('user-edit').count()).resolves.toBe(0);
    await expect(userRow(page, 'north.rep1@leadline.test').getByTestId('user-edit').count()).resolves.toBe(1);
    await page.close();
  });

  it('shows the API’s message for a bad field next to that field, and saves nothing', async () => {
    const page = await openUsers('north.manager@leadline.test');
    await editUser(page, 'north.rep3@leadline.test');
    await page.getByTestId('user-capacity').fill('5000');
    await page.getByTestId('user-save').click();
    await expect(fieldError(page, 'user-capacity').textContent()).resolves.toMatch(/1000/);
    await expect(page.getByTestId('user-panel-error').textContent()).resolves.toContain('Fix the highlighted fields');
    await expect(page.getByTestId('user-capacity').getAttribute('aria-invalid')).resolves.toBe('true');
    // Focus goes to the field to fix.
    await expect(page.getByTestId('user-capacity').evaluate((el) => el === el.ownerDocument.activeElement)).resolves.toBe(true);
    await screenshots(page, 'users-field-error');
    await page.getByTestId('user-capacity').fill('6');
    await expect(fieldError(page, 'user-capacity').count()).resolves.toBe(0);
    // Own hours start from the team's (around the clock in tests), to be changed from there.
    await page.getByTestId('user-team-hours').uncheck();
    await expect(page.getByTestId('user-hours-mon-0-open').inputValue()).resolves.toBe('00:00');
    await expect(page.getByTestId('user-hours-mon-0-close').inputValue()).resolves.toBe('24:00');
    await screenshots(page, 'users-own-hours');
    await page.getByTestId('user-cancel').click();
    expect((await userRowFromDb('north.rep3@leadline.test')).capacity).toBe(25);
    await page.close();
  });

  it('shows ops everyone read-only, with no control to change anything', async () => {
    const page = await openUsers('ops@leadline.test');
    await userRow(page, 'south.rep1@leadline.test').waitFor();
    await expect(page.getByTestId('user-row').count()).resolves.toBeGreaterThanOrEqual(8);
    await expect(page.getByTestId('user-edit').count()).resolves.toBe(0);
    await expect(page.getByTestId('new-user').count()).resolves.toBe(0);

    await page.getByTestId('nav-teams').click();
    await teamRow(page, 'South').waitFor();
    await expect(page.getByTestId('team-edit').count()).resolves.toBe(0);
    await expect(page.getByTestId('new-team').count()).resolves.toBe(0);
    await page.close();
  });

  it('lets an admin create a user, who can then sign in, and filter by team', async () => {
    const page = await openUsers('admin@leadline.test');
    await page.getByTestId('new-user').click();
    await page.getByTestId('user-panel').waitFor();
    await page.getByTestId('user-name').fill('Wendy Welcome');
    await page.getByTestId('user-email').fill('Wendy.Welcome@leadline.test');
    await page.getByTestId('user-role').selectOption('staff');
    await page.getByTestId('user-team').selectOption({ label: 'South' });
    await page.getByTestId('user-password').fill(DEMO_PASSWORD);
    await page.getByTestId('user-capacity').fill('4');
    await screenshots(page, 'users-new');
    await saveUser(page);
    await expect(page.getByTestId('users-notice').textContent()).resolves.toContain('Wendy Welcome was created and can sign in as wendy.welcome@leadline.test');

    const created = await userRowFromDb('wendy.welcome@leadline.test');
    const south = await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'South' });
    expect([created.name, created.role, created.team?.id, created.capacity, created.active]).toEqual(['Wendy Welcome', 'staff', south.id, 4, true]);

    await page.getByTestId('users-team-filter').selectOption({ label: 'South' });
    await page.waitForURL((url) => url.searchParams.get('team') === south.id);
    await page.getByTestId('users-count').filter({ hasText: '3 people' }).waitFor();
    const emails = await page.getByTestId('user-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-email')));
    expect(emails.sort()).toEqual(['south.manager@leadline.test', 'south.rep1@leadline.test', 'wendy.welcome@leadline.test']);
    await screenshots(page, 'users');
    await page.close();

    const wendy = await web.signIn('wendy.welcome@leadline.test');
    await expect(wendy.getByTestId('current-user').textContent()).resolves.toContain('Wendy Welcome');
    await wendy.close();
  });

  it('lets an admin deactivate a user, who then cannot sign in', async () => {
    const page = await openUsers('admin@leadline.test');
    await editUser(page, 'south.rep1@leadline.test');
    await expect(page.getByTestId('user-email').inputValue()).resolves.toBe('south.rep1@leadline.test');
    await page.getByTestId('user-active').uncheck();
    await saveUser(page);
    expect((await userRowFromDb('south.rep1@leadline.test')).active).toBe(false);
    await expect(userRow(page, 'south.rep1@leadline.test').getByTestId('user-status').textContent()).resolves.toContain('Inactive');
    await request(h.app).post('/api/auth/login').send({ email: 'south.rep1@leadline.test', password: DEMO_PASSWORD }).expect(401);
    await page.close();
  });

  it('has no Users or Teams links for staff and sends them back to the leads', async () => {
    const page = await web.signIn('north.rep1@leadline.test');
    await expect(page.getByTestId('nav-users').count()).resolves.toBe(0);
    await expect(page.getByTestId('nav-teams').count()).resolves.toBe(0);
    for (const path of ['/users', '/teams']) {
      await page.goto(`${base}${path}`);
      await page.waitForURL((url) => url.pathname === '/leads');
      await page.getByTestId('leads-table').waitFor();
    }
    await page.close();
  });
});

describe('the teams page', () => {
  it("lets a manager split their team's Monday into two shifts and add a holiday", async () => {
    const page = await openTeams('north.manager@leadline.test');
    await expect(page.getByTestId('team-row').count()).resolves.toBe(1);
    await expect(teamRow(page, 'North').getByTestId('team-members').textContent()).resolves.toBe('4');
    await teamRow(page, 'North').getByTestId('team-edit').click();
    await page.getByTestId('team-panel').waitFor();
    // Their team's hours and zone, not its name or manager.
    await expect(page.getByTestId('team-name').count()).resolves.toBe(0);
    await expect(page.getByTestId('team-manager').count()).resolves.toBe(0);
    await expect(page.getByTestId('team-timezone').inputValue()).resolves.toBe('America/New_York');

    await page.getByTestId('team-hours-mon-0-open').fill('09:00');
    await page.getByTestId('team-hours-mon-0-close').fill('12:00');
    await page.getByTestId('team-hours-mon-add').click();
    // The new shift starts an hour after the first ends, and has the focus.
    await expect(page.getByTestId('team-hours-mon-1-open').inputValue()).resolves.toBe('13:00');
    await expect(page.getByTestId('team-hours-mon-1-open').evaluate((el) => el === el.ownerDocument.activeElement)).resolves.toBe(true);
    await page.getByTestId('team-hours-mon-1-close').fill('17:30');
    await page.getByTestId('team-hours-holiday-date').fill('2031-12-25');
    await page.getByTestId('team-hours-holiday-add').click();
    await page.getByTestId('team-hours-holiday').filter({ hasText: '2031' }).waitFor();
    await screenshots(page, 'teams-edit');
    await page.getByTestId('team-save').click();
    await page.getByTestId('team-panel').waitFor({ state: 'hidden' });
    await page.getByTestId('teams-notice').waitFor();

    const team = await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'North' });
    expect(team.businessHours).toEqual({
      weekly: { ...allHours.weekly, mon: [['09:00', '12:00'], ['13:00', '17:30']] },
      holidays: ['2031-12-25'],
    });
    await expect(teamRow(page, 'North').getByTestId('team-hours').textContent()).resolves.toContain('Mon 09:00–12:00, 13:00–17:30');
    await page.close();
  });

  it('shows a bad shift’s error at that shift, and saves nothing', async () => {
    const page = await openTeams('north.manager@leadline.test');
    const before = (await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'North' })).businessHours;
    await teamRow(page, 'North').getByTestId('team-edit').click();
    await page.getByTestId('team-hours-tue-0-open').fill('18:00');
    await page.getByTestId('team-hours-tue-0-close').fill('09:00');
    await page.getByTestId('team-save').click();
    const shift = page.getByTestId('team-hours-tue-0');
    await expect(shift.getByTestId('field-error').textContent()).resolves.toContain('must close after it opens');
    await expect(page.getByTestId('team-hours-tue-0-close').getAttribute('aria-invalid')).resolves.toBe('true');
    await screenshots(page, 'teams-field-error');
    await page.getByTestId('team-cancel').click();
    expect((await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'North' })).businessHours).toEqual(before);
    await page.close();
  });

  it('lets an admin create a team, which starts with no one in it', async () => {
    const page = await openTeams('admin@leadline.test');
    await page.getByTestId('new-team').click();
    await page.getByTestId('team-name').fill('West');
    await page.getByTestId('team-timezone').fill('America/Los_Angeles');
    await page.getByTestId('team-hours-sat-add').click();
    await page.getByTestId('team-save').click();
    await page.getByTestId('team-panel').waitFor({ state: 'hidden' });
    await teamRow(page, 'West').waitFor();
    const west = await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'West' }, { populate: ['policy'] });
    expect(west.timezone).toBe('America/Los_Angeles');
    expect(west.businessHours.weekly.mon).toEqual([['09:00', '17:00']]);
    expect(west.businessHours.weekly.sat).toEqual([['09:00', '17:00']]);
    expect(west.businessHours.weekly.sun).toEqual([]);
    expect(west.policy).not.toBeNull();
    await expect(teamRow(page, 'West').getByTestId('team-members').textContent()).resolves.toBe('0');
    await expect(teamRow(page, 'West').getByTestId('team-manager-name').textContent()).resolves.toContain('Nobody yet');
    await screenshots(page, 'teams');
    await page.close();
  });
});
