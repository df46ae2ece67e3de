import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { createApp } from '../api/app.js';
import type { AppDeps } from '../api/deps.js';
import { DEMO_PASSWORD } from '../db/seeders/DemoSeeder.js';
import { LeadSchema } from '../db/entities.js';
import { launchBrowser, type TestBrowser } from './browser.js';
import { eventually, startHarness, type Harness } from './harness.js';

// The built app (npm test builds it before Jest runs) served by the real API, driven in Chromium.
const webRoot = fileURLToPath(new URL('../web/dist', import.meta.url));
export const shots = fileURLToPath(new URL('../screenshots', import.meta.url));

export interface WebApp {
  h: Harness;
  /** Where the API serves the app, e.g. `http://127.0.0.1:40123`. */
  base: string;
  browser: TestBrowser;
  /** A fresh page signed in as `email` (demo password), on the path the app lands on. */
  signIn(email: string, landing?: string): Promise<Page>;
  /** Waits for the workflow to give the lead to someone. */
  assigned(leadId: string): ReturnType<typeof assignedLead>;
  stop(): Promise<void>;
}

function assignedLead(h: Harness, leadId: string) {
  return eventually(async () => {
    const row = await h.orm.em.fork().findOne(LeadSchema, leadId, { populate: ['assignee'] });
    return row?.assignee ? row : null;
  });
}

/** The ORM and Temporal client the served app uses instead of the harness's own (an outage test's proxied ones). */
export interface WebAppDependencies extends Pick<AppDeps, 'orm' | 'temporal'> {
  stop(): Promise<void>;
}

/** One harness, one API server and one Chromium for a browser test file. */
export async function startWebApp(options: { dependencies?: (h: Harness) => Promise<WebAppDependencies> } = {}): Promise<WebApp> {
  const h = await startHarness();
  const dependencies = await options.dependencies?.(h);
  const app = createApp({ orm: dependencies?.orm ?? h.orm, temporal: dependencies?.temporal ?? h.temporal, config: h.config, webRoot });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const browser = await launchBrowser().catch(async (error: unknown) => {
    // Without this the harness's worker outlives the file and Jest never exits.
    await new Promise((resolve) => server.close(resolve));
    await dependencies?.stop();
    await h.stop();
    throw error;
  });
  mkdirSync(shots, { recursive: true });

  async function signIn(email: string, landing = '/leads') {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.goto(`${base}${landing}`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await page.getByTestId('sign-in-email').fill(email);
    await page.getByTestId('sign-in-password').fill(DEMO_PASSWORD);
    await page.getByTestId('sign-in-submit').click();
    // The sign-in URL itself carries `?redirect=...`, so match the path, not the whole URL.
    await page.waitForURL((url) => url.pathname === landing);
    await page.getByTestId('current-user').waitFor();
    return page;
  }

  return {
    h,
    base,
    browser,
    signIn,
    assigned: (leadId) => assignedLead(h, leadId),
    async stop() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      await dependencies?.stop();
      await h.stop();
    },
  };
}

/**
 * The page at desktop and phone widths, each in a window as tall as the page, so sticky parts (the
 * policy editor's buttons) are where a reader scrolling to the end would find them.
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  for (const [suffix, width, height] of [['', 1280, 800], ['-phone', 390, 844]] as const) {
    await page.setViewportSize({ width, height });
    const full = Number(await page.evaluate('document.documentElement.scrollHeight'));
    await page.setViewportSize({ width, height: Math.max(height, full) });
    await page.screenshot({ path: `${shots}/${name}${suffix}.png` });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}
