import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page, Request } from 'playwright-core';
import { LeadSchema, TaskSchema } from '../db/entities.js';
import { stillPolicy, type Harness } from './harness.js';
import { throughProxies, type ProxiedDependencies } from './outage.js';
import { screenshots, startWebApp, type WebApp } from './webApp.js';

let web: WebApp;
let h: Harness;
/** The served app reaches Postgres and Temporal through these; the harness's worker does not. */
let deps: ProxiedDependencies;

beforeAll(async () => {
  web = await startWebApp({ dependencies: async (harness) => (deps = await throughProxies(harness)) });
  ({ h } = web);
});

afterAll(async () => {
  await web?.stop();
});

/** A lead row without a workflow and an open task on it; written straight to the database, which the served app may not be able to reach. */
async function insertTask(teamId: string, assigneeId: string, leadName: string, title: string): Promise<string> {
  const em = h.orm.em.fork();
  const lead = em.create(LeadSchema, { name: leadName, team: teamId, assignee: assigneeId, status: 'assigned', source: 'test' });
  const task = em.create(TaskSchema, { lead, team: teamId, assignee: assigneeId, kind: 'follow_up', title, dueAt: new Date(Date.now() + 30 * 60_000) });
  await em.flush();
  return task.id;
}

const taskRow = (page: Page, taskId: string) => page.locator(`[data-testid="task-row"][data-task-id="${taskId}"]`);

/** Every request the page makes to one API path: when each went out and the most ever in flight at once. */
function watchRequests(page: Page, path: string) {
  const sent: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const ours = (req: Request) => new URL(req.url()).pathname === path;
  page.on('request', (req) => {
    if (!ours(req)) return;
    sent.push(Date.now());
    mostInFlight = Math.max(mostInFlight, ++inFlight);
  });
  const done = (req: Request) => {
    if (ours(req)) inFlight--;
  };
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  return {
    sentSince: (since: number) => sent.filter((at) => at >= since),
    mostInFlight: () => mostInFlight,
  };
}

describe('the web app while a dependency is briefly down', () => {
  it('My tasks says "Reconnecting…" while the database is away, keeps its list, asks one request at a time at least Retry-After apart, refuses a change with a try-again message, and shows what came in meanwhile once it is back', async () => {
    const team = await h.createTeam('Outage', [{}], stillPolicy);
    const rep = team.staff[0]!;
    const before = await insertTask(team.id, rep.id, 'Olga Offline', 'Call back about the quote');
    const page = await web.signIn(rep.email, '/tasks');
    await taskRow(page, before).waitFor();
    const tasksApi = watchRequests(page, '/api/tasks');
    const banner = page.getByTestId('reconnecting');

    await deps.postgres.cut();
    const cutAt = Date.now();
    try {
      // The next poll (every 5 s) finds the database away.
      await banner.waitFor({ timeout: 15_000 });
      await expect(page.locator('[role="status"]').filter({ has: banner }).getAttribute('aria-live')).resolves.toBe('polite');
      await expect(banner.textContent()).resolves.toContain('Reconnecting…');
      await expect(taskRow(page, before).isVisible()).resolves.toBe(true);
      await expect(page.getByTestId('tasks-error').count()).resolves.toBe(0);
      await screenshots(page, 'reconnecting');

      // A change is not retried behind the user's back: it says to try again.
      await taskRow(page, before).getByTestId('task-done').click();
      await taskRow(page, before).getByTestId('task-outcome').filter({ hasText: 'Reached them' }).click();
      await expect(taskRow(page, before).getByTestId('task-error').textContent()).resolves.toBe('Not saved: Leadline is briefly unavailable. Try again in a moment.');
      await expect(banner.isVisible()).resolves.toBe(true);

      // Meanwhile the workflow (which has its own connection) gives the rep another task.
      const during = await insertTask(team.id, rep.id, 'Nico Newcomer', 'Send the brochure');
      await page.waitForTimeout(12_000);
      const tries = tasksApi.sentSince(cutAt);
      expect(tasksApi.mostInFlight()).toBe(1);
      // The API says Retry-After: 5; the client waits at least that between tries, not the 5 s poll on top of a pile.
      const gaps = tries.slice(1).map((at, i) => at - tries[i]!);
      expect(tries.length).toBeGreaterThanOrEqual(2);
      expect(gaps.every((gap) => gap >= 4_500)).toBe(true);
      await expect(taskRow(page, during).count()).resolves.toBe(0);

      await deps.postgres.restore();
      await banner.waitFor({ state: 'detached', timeout: 20_000 });
      await taskRow(page, during).waitFor();
      await expect(taskRow(page, before).isVisible()).resolves.toBe(true);
    } finally {
      await deps.postgres.restore();
    }
    await screenshots(page, 'reconnected');
    await page.close();
  }, 150_000);

  it('a page opened while the database is away waits under "Reconnecting…" instead of failing, and shows its data once it is back', async () => {
    const team = await h.createTeam('Waiting', [{}], stillPolicy);
    const rep = team.staff[0]!;
    await insertTask(team.id, rep.id, 'Willa Waiting', 'Call again');
    const page = await web.signIn(rep.email, '/tasks');
    await page.getByTestId('task-row').first().waitFor();
    const banner = page.getByTestId('reconnecting');

    await deps.postgres.cut();
    try {
      await page.getByRole('link', { name: 'Leads', exact: true }).click();
      await page.waitForURL((url) => url.pathname === '/leads');
      await banner.waitFor();
      await expect(page.getByRole('alert').count()).resolves.toBe(0);
    } finally {
      await deps.postgres.restore();
    }
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    await page.getByText('Willa Waiting').first().waitFor();
    await page.close();
  }, 120_000);
});
