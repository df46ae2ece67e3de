import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { leadlineBuildId } from '../build.js';
import { eventually } from './harness.js';
import { screenshots, startWebApp, type WebApp } from './webApp.js';

let web: WebApp;

beforeAll(async () => {
  web = await startWebApp();
});

afterAll(async () => {
  await web?.stop();
});

/** The harness's worker runs in this process, under the SDK's default identity and the build id of this checkout. */
const ownWorker = `${process.pid}@${hostname()}`;

describe('the system page', () => {
  it('shows ops the server, the four service roles and this worker polling with its build id, and refreshes itself', async () => {
    const page = await web.signIn('ops@leadline.test');
    await page.getByTestId('nav-system').click();
    await page.waitForURL((url) => url.pathname === '/system');

    await expect(page.getByTestId('system-server-version').textContent()).resolves.toMatch(/^\d+\.\d+\.\d+/);
    await expect(page.getByTestId('system-persistence').textContent()).resolves.toBe('sqlite');
    const roles = await page.getByTestId('membership-role').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-role')));
    expect(roles).toEqual(expect.arrayContaining(['frontend', 'history', 'matching', 'worker']));
    for (const role of ['frontend', 'history', 'matching', 'worker']) {
      await expect(page.locator(`[data-testid="membership-role"][data-role="${role}"] [data-testid="membership-member"]`).first().textContent()).resolves.toMatch(/:\d+$/);
    }

    const workflowPoller = page.locator(`[data-testid="poller-row"][data-identity="${ownWorker}"][data-task-type="workflow"]`);
    await expect(workflowPoller.getByTestId('poller-build').textContent()).resolves.toContain(leadlineBuildId());
    await expect(workflowPoller.getByTestId('poller-last-seen').locator('time').getAttribute('title')).resolves.toBeTruthy();
    await expect(page.locator(`[data-testid="poller-row"][data-identity="${ownWorker}"][data-task-type="activity"]`).count()).resolves.toBe(1);
    await expect(page.locator('[data-testid="backlog"]').evaluateAll((tiles) => tiles.map((tile) => tile.getAttribute('data-task-type')))).resolves.toEqual(['workflow', 'activity']);
    await screenshots(page, 'system');

    // Every 10 seconds it asks again: the time of the answer moves on.
    const checkedAt = page.getByTestId('system-summary').locator('time');
    const first = await checkedAt.getAttribute('datetime');
    await eventually(async () => (await checkedAt.getAttribute('datetime')) !== first, 20_000);
    await page.close();
  });

  it('has no System link for staff, and /system sends them to the leads without showing the system', async () => {
    const page = await web.signIn('north.rep1@leadline.test');
    await expect(page.getByTestId('nav-system').count()).resolves.toBe(0);
    await page.goto(`${web.base}/system`);
    await page.waitForURL((url) => url.pathname === '/leads');
    await page.getByTestId('leads-table').waitFor();
    await expect(page.getByTestId('system-temporal').count()).resolves.toBe(0);
    await page.close();
  });
});
