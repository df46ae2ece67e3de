import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { LeadEventSchema, LeadSchema, TeamSchema } from '../db/entities.js';
import type { PolicyRules } from '../domain/policy.js';
import { eventually, stillPolicy, type Harness, type TestTeam } from './harness.js';
import { screenshots, shots, startWebApp, type WebApp } from './webApp.js';

let web: WebApp;
let h: Harness;
let base: string;
let team: TestTeam;
/** Leads per rep name, as the workflow happened to assign them. */
const leadsPerRep = new Map<string, number>();

/** One escalation step a second after assignment: every lead escalates once, and only once. */
const escalatesOnce = (sla: string): Partial<PolicyRules> => ({ ...stillPolicy, firstContactSla: sla, escalation: [{ after: '1s', action: 'remind_assignee' }] });

async function assignedAndEscalated(leadIds: string[]) {
  for (const leadId of leadIds) await web.assigned(leadId);
  await eventually(async () => (await h.orm.em.fork().count(LeadEventSchema, { lead: { $in: leadIds }, type: 'escalated' })) === leadIds.length);
}

/**
 * Five leads of one team, in the shape the headline figures are asserted against:
 * 1 and 2 contacted within a one-hour SLA (1 converted, 2 lost), 3 still open and not yet due,
 * 4 and 5 under a one-second SLA and never contacted (5 lost): SLA 2 of 4, conversion 1 of 3.
 */
async function createLeads() {
  team = await h.createTeam('Dash', [{}, {}], escalatesOnce('1h'));
  const early: string[] = [];
  for (let i = 1; i <= 3; i++) early.push(await h.startLead(team.id, { name: `Dash Lead ${i}` }));
  await assignedAndEscalated(early);
  // New leads start under the newest version; the three above keep their one-hour deadlines.
  await h.setPolicy('Dash', escalatesOnce('1s'));
  const late = [await h.startLead(team.id, { name: 'Dash Lead 4' }), await h.startLead(team.id, { name: 'Dash Lead 5' })];
  await assignedAndEscalated(late);

  for (const leadId of early.slice(0, 2)) {
    const row = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['assignee'] });
    const rep = await h.login(row.assignee!.email);
    await request(h.app).post(`/api/leads/${leadId}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Talked' }).expect(200);
  }
  const manager = await h.login(team.managerEmail);
  await request(h.app).post(`/api/leads/${early[0]}/convert`).set('Authorization', manager).send({ value: 500 }).expect(200);
  await request(h.app).post(`/api/leads/${early[1]}/lose`).set('Authorization', manager).send({ reason: 'Bought elsewhere' }).expect(200);
  await request(h.app).post(`/api/leads/${late[1]}/lose`).set('Authorization', manager).send({ reason: 'Wrong number' }).expect(200);
  // The one-second deadlines have passed once the API counts them as due.
  await eventually(async () => (await request(h.app).get('/api/stats').set('Authorization', manager)).body.total?.slaDue === 4);

  const rows = await h.orm.em.fork().find(LeadSchema, { team: team.id }, { populate: ['assignee'] });
  for (const row of rows) leadsPerRep.set(row.assignee!.name, (leadsPerRep.get(row.assignee!.name) ?? 0) + 1);
}

beforeAll(async () => {
  web = await startWebApp();
  ({ h, base } = web);
  await createLeads();
});

afterAll(async () => {
  await web?.stop();
});

/** Signed in, with charts drawn at once (no animation), so what is measured and pictured is final. */
async function openDashboard(email: string): Promise<Page> {
  const page = await web.signIn(email);
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.getByTestId('nav-dashboard').click();
  await page.waitForURL((url) => url.pathname === '/dashboard');
  return page;
}

const stat = (page: Page, id: string) => ({
  value: () => page.getByTestId(`stat-${id}`).getByTestId('stat-value').textContent(),
  detail: () => page.getByTestId(`stat-${id}`).getByTestId('stat-detail').textContent(),
});

/** Each chart's canvas: drawn (non-zero size) and described for screen readers. */
function charts(page: Page) {
  return page.$$eval('figure[data-testid^="chart-"]', (figures) =>
    figures.map((figure) => {
      const canvas = figure.querySelector('canvas');
      const box = canvas?.getBoundingClientRect();
      return {
        id: figure.getAttribute('data-testid'),
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        pixels: canvas?.width ?? 0,
        role: canvas?.getAttribute('role'),
        label: canvas?.getAttribute('aria-label') ?? '',
        figureWidth: figure.getBoundingClientRect().width,
      };
    }),
  );
}

/** The CSV behind a link, fetched by the page itself, so with its session cookie and nothing else. */
function fetchCsv(page: Page, href: string) {
  return page.evaluate(async (url) => {
    const res = await fetch(url);
    return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), text: await res.text() };
  }, href);
}

describe('the dashboard', () => {
  it('shows a manager their team: headline figures, charts, the reps, and a CSV of the same range', async () => {
    const page = await openDashboard(team.managerEmail);
    await page.getByTestId('stat-leads').waitFor();

    await expect(stat(page, 'leads').value()).resolves.toBe('5');
    await expect(stat(page, 'leads').detail()).resolves.toBe('5 assigned · 2 contacted');
    await expect(stat(page, 'sla').value()).resolves.toBe('50%');
    await expect(stat(page, 'sla').detail()).resolves.toBe('2 of 4 contacted in time');
    await expect(stat(page, 'conversion').value()).resolves.toBe('33%');
    await expect(stat(page, 'conversion').detail()).resolves.toBe('1 of 3 closed leads');
    await expect(stat(page, 'escalations').value()).resolves.toBe('5');
    // Only the two contacted leads have a response time; routing takes the workflow a moment.
    await expect(stat(page, 'response').value()).resolves.toMatch(/^(<1s|\d+s|\d+m( \d+s)?)$/);
    await expect(stat(page, 'routing').value()).resolves.toMatch(/^(0s|<1s|\d+s)$/);
    await expect(page.getByTestId('funnel-note').textContent()).resolves.toBe('Where they are now: 2 open · 1 converted · 2 lost · 0 unresponsive');
    await expect(page.getByTestId('dashboard-scope').textContent()).resolves.toContain('· Dash');
    // A manager sees one team: no team filter.
    await expect(page.getByTestId('dashboard-team').count()).resolves.toBe(0);

    const drawn = await charts(page);
    expect(drawn.map((chart) => chart.id)).toEqual(['chart-speed', 'chart-sla', 'chart-funnel', 'chart-escalations']);
    for (const chart of drawn) {
      expect(chart).toMatchObject({ role: 'img' });
      expect(chart.width).toBeGreaterThan(100);
      expect(chart.height).toBeGreaterThanOrEqual(240);
      expect(chart.pixels).toBeGreaterThan(0);
    }
    const label = (id: string) => drawn.find((chart) => chart.id === id)!.label;
    expect(label('chart-funnel')).toBe('Funnel: 5 created, 5 assigned, 2 contacted, 1 converted');
    expect(label('chart-sla')).toMatch(/^First contact within the SLA, per rep: Dash Rep 1 (\d+%|—); Dash Rep 2 (\d+%|—); Dash \(team\) 50%$/);
    expect(label('chart-escalations')).toMatch(/^Escalations per day: 5 in 30 days, most on .+ \(5\)$/);

    const rows = page.getByTestId('rep-row');
    await expect(rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-rep')))).resolves.toEqual(['Dash Rep 1', 'Dash Rep 2']);
    for (const [rep, count] of leadsPerRep) {
      await expect(page.locator(`[data-testid="rep-row"][data-rep="${rep}"] [data-col="leads"]`).textContent()).resolves.toBe(String(count));
    }
    const totalRow = (col: string) => page.locator(`[data-testid="team-row"] [data-col="${col}"]`).textContent();
    await expect(Promise.all(['leads', 'contacted', 'sla', 'converted', 'conversion'].map(totalRow))).resolves.toEqual(['5', '2', '50% 2/4', '1', '33%']);

    await screenshots(page, 'dashboard');

    const href = await page.getByTestId('dashboard-csv').getAttribute('href');
    expect(href).toMatch(/^\/api\/stats\?/);
    const csv = await fetchCsv(page, href!);
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.disposition).toMatch(/^attachment; filename="?leadline-stats-/);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toMatch(/^team,rep,leads,assigned,contacted,sla_met,sla_due,sla_attainment,/);
    expect(lines[1]).toMatch(/^Dash,\(team total\),5,5,2,2,4,0\.5,1,0\.333,/);
    expect(lines).toHaveLength(4);
    await page.close();
  });

  it('keeps the chart space while loading, and says what failed with a way to try again', async () => {
    const page = await openDashboard(team.managerEmail);
    await page.getByTestId('stat-leads').waitFor();

    // Hold the next answer: the charts' places are kept at the same height meanwhile.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const isStats = (url: URL) => url.pathname === '/api/stats';
    await page.route(isStats, async (route) => {
      await held;
      await route.continue();
    });
    await page.reload();
    const speed = page.getByTestId('chart-speed');
    await speed.locator('.skeleton').waitFor();
    const loadingBox = await speed.boundingBox();
    await page.screenshot({ path: `${shots}/dashboard-loading.png` });
    release();
    await speed.locator('canvas').waitFor();
    const loadedBox = await speed.boundingBox();
    expect(loadedBox?.height).toBe(loadingBox?.height);
    expect(loadedBox?.y).toBe(loadingBox?.y);
    await page.unroute(isStats);

    await page.route(isStats, (route) => route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { code: 'internal', message: 'Something went wrong on our side' } }) }));
    await page.getByTestId('dashboard-preset-7d').click();
    await expect(page.getByTestId('dashboard-error').textContent()).resolves.toContain('Could not load the figures: Something went wrong on our side');
    await page.unroute(isStats);
    await page.getByTestId('dashboard-retry').click();
    await page.getByTestId('dashboard-error').waitFor({ state: 'detached' });
    await expect(stat(page, 'leads').value()).resolves.toBe('5');
    await expect(page.getByTestId('dashboard-preset-7d').getAttribute('aria-pressed')).resolves.toBe('true');
    await page.close();
  });

  it('shows an empty state for a range without leads, keeps the range in the URL, and exports that range', async () => {
    const page = await openDashboard(team.managerEmail);
    await page.getByTestId('stat-leads').waitFor();

    await page.getByTestId('dashboard-to').fill('2020-01-31');
    await page.getByTestId('dashboard-range-problem').filter({ hasText: 'The start date must be on or before the end date.' }).waitFor();
    await page.getByTestId('dashboard-from').fill('2020-01-01');
    const empty = page.getByTestId('dashboard-empty');
    await expect(empty.textContent()).resolves.toMatch(/No leads in this range.*Pick a wider range/s);
    await expect(page.getByTestId('chart-speed').count()).resolves.toBe(0);
    const url = new URL(page.url());
    expect([url.searchParams.get('from'), url.searchParams.get('to')]).toEqual(['2020-01-01', '2020-01-31']);
    await screenshots(page, 'dashboard-empty');

    // A reload, as a shared link would, opens the same range.
    await page.reload();
    await empty.waitFor();
    await expect(page.getByTestId('dashboard-from').inputValue()).resolves.toBe('2020-01-01');
    await expect(page.getByTestId('dashboard-to').inputValue()).resolves.toBe('2020-01-31');

    // The export is of that range: from local midnight of the first day to the midnight after the last.
    const href = (await page.getByTestId('dashboard-csv').getAttribute('href'))!;
    const params = new URL(href, base).searchParams;
    const expected = await page.evaluate(() => [new Date(2020, 0, 1).toISOString(), new Date(2020, 1, 1).toISOString()]);
    expect([params.get('format'), params.get('from'), params.get('to')]).toEqual(['csv', ...expected]);
    const csv = await fetchCsv(page, href);
    expect(csv.status).toBe(200);
    expect(csv.text.trim().split('\n')).toEqual(['team,rep,leads,assigned,contacted,sla_met,sla_due,sla_attainment,converted,conversion_rate,routing_p50_s,routing_p90_s,response_p50_s,response_p90_s']);

    // The way out the empty state offers.
    await empty.getByRole('button', { name: 'Show the last 90 days' }).click();
    await expect(stat(page, 'leads').value()).resolves.toBe('5');
    await expect(page.getByTestId('dashboard-preset-90d').getAttribute('aria-pressed')).resolves.toBe('true');
    await page.close();
  });

  it('fits a phone: charts shrink to the screen and the table scrolls sideways inside its card', async () => {
    const page = await openDashboard(team.managerEmail);
    await page.getByTestId('stat-leads').waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    // Chart.js follows its box on the next resize observation.
    await page.waitForFunction(`[...document.querySelectorAll('figure[data-testid^="chart-"] canvas')].every((canvas) => canvas.getBoundingClientRect().right <= 390)`);
    const layout = await page.getByTestId('dashboard-reps').evaluate((table) => {
      const wrap = table.parentElement!;
      const section = table.closest('section')!;
      return { right: section.getBoundingClientRect().right, overflow: section.scrollWidth - section.clientWidth, wrapScroll: wrap.scrollWidth, wrapWidth: wrap.clientWidth };
    });
    // Nothing of the dashboard reaches past the screen; the table alone scrolls, inside its card.
    expect(layout.right).toBeLessThanOrEqual(390);
    expect(layout.overflow).toBe(0);
    expect(layout.wrapScroll).toBeGreaterThan(layout.wrapWidth);
    for (const chart of await charts(page)) expect(chart.width).toBeLessThanOrEqual(chart.figureWidth);
    await page.close();
  });

  it('shows ops every team, compared per team, and lets them narrow to one', async () => {
    const north = await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'North' });
    await web.assigned(await h.startLead(north.id, { name: 'Northern Lead' }));

    const page = await openDashboard('ops@leadline.test');
    const picker = page.getByTestId('dashboard-team');
    await picker.waitFor();
    await expect(page.getByTestId('dashboard-scope').textContent()).resolves.toContain('All teams');
    await expect(stat(page, 'leads').value()).resolves.toBe('6');
    await expect(page.getByTestId('chart-sla').locator('canvas').getAttribute('aria-label')).resolves.toMatch(/per team: Dash 50%; North/);
    await expect(page.locator('[data-testid="team-row"] th').allTextContents()).resolves.toEqual(['Dash', 'North']);
    await screenshots(page, 'dashboard-ops');

    await picker.selectOption({ label: 'Dash' });
    await page.waitForURL((url) => url.searchParams.get('team') === team.id);
    await page.getByTestId('dashboard-scope').filter({ hasText: '· Dash' }).waitFor();
    await page.getByTestId('stat-leads').getByTestId('stat-value').filter({ hasText: /^5$/ }).waitFor();
    expect(new URL((await page.getByTestId('dashboard-csv').getAttribute('href'))!, base).searchParams.get('teamId')).toBe(team.id);
    await page.close();
  });

  it('has no Dashboard link for staff and sends them back to the leads', async () => {
    const page = await web.signIn(team.staff[0]!.email);
    await expect(page.getByTestId('nav-dashboard').count()).resolves.toBe(0);
    await page.goto(`${base}/dashboard`);
    await page.waitForURL((url) => url.pathname === '/leads');
    await page.getByTestId('leads-table').waitFor();
    await page.close();
  });
});
