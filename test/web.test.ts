import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { fileURLToPath } from 'node:url';
import { createApp } from '../api/app.js';
import { demoUsers, DEMO_PASSWORD } from '../db/seeders/DemoSeeder.js';
import { LeadSchema } from '../db/entities.js';
import { launchBrowser, type TestBrowser } from './browser.js';
import { eventually, startHarness, type Harness } from './harness.js';

// The built app (npm test builds it before Jest runs) served by the real API, driven in Chromium.
const webRoot = fileURLToPath(new URL('../web/dist', import.meta.url));
const shots = fileURLToPath(new URL('../screenshots', import.meta.url));

let h: Harness;
let server: Server;
let base: string;
let browser: TestBrowser;

beforeAll(async () => {
  h = await startHarness();
  const app = createApp({ orm: h.orm, temporal: h.temporal, config: h.config, webRoot });
  server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await launchBrowser();
  mkdirSync(shots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await h?.stop();
});

async function signIn(email: string) {
  await browser.context.clearCookies();
  const page = await browser.context.newPage();
  await page.goto(`${base}/leads`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await page.getByTestId('sign-in-email').fill(email);
  await page.getByTestId('sign-in-password').fill(DEMO_PASSWORD);
  await page.getByTestId('sign-in-submit').click();
  // The sign-in URL itself carries `?redirect=/leads`, so match the path, not the whole URL.
  await page.waitForURL((url) => url.pathname === '/leads');
  await page.getByTestId('current-user').waitFor();
  return page;
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
    const page = await browser.context.newPage();
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
    const lead = await eventually(async () => {
      const row = await h.orm.em.fork().findOne(LeadSchema, leadId, { populate: ['assignee'] });
      return row?.assignee ? row : null;
    });

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
