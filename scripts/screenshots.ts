/**
 * `npm run screenshots`: every screen of the web app, at desktop and phone width, for each role that
 * uses it, into screenshots/. It runs the system the way the browser tests do (embedded Postgres,
 * Temporal dev server, worker, API serving web/dist, Chromium) with a little data of every kind, so
 * a person can look at the whole app in a minute.
 */
import request from 'supertest';
import type { Page } from 'playwright-core';
import { LeadSchema, TaskSchema, TeamSchema } from '../db/entities.js';
import { eventually } from '../test/harness.js';
import startServices from '../test/start-services.js';
import stopServices from '../test/stop-services.js';
import { screenshots, shots, startWebApp, type WebApp } from '../test/webApp.js';

interface Screen {
  name: string;
  /** Who looks at it; none for the sign-in page. */
  as?: string;
  path: string | ((data: Demo) => string);
  /** What shows once the page has its data. */
  ready: string;
  /** Something to click first, e.g. to open a dialog. */
  open?: string;
}

interface Demo {
  repLead: string;
  escalatedLead: string;
}

const manager = 'north.manager@leadline.test';
const rep = 'north.rep1@leadline.test';

const screens: Screen[] = [
  { name: 'sign-in', path: '/sign-in', ready: '[data-testid="sign-in-submit"]' },
  { name: 'tasks-rep', as: rep, path: '/tasks', ready: '[data-testid="task-row"]' },
  { name: 'leads-rep', as: rep, path: '/leads', ready: '[data-testid="lead-row"]' },
  { name: 'lead-rep', as: rep, path: (d) => `/leads/${d.repLead}`, ready: '[data-testid="timeline-item"]' },
  { name: 'tasks-manager', as: manager, path: '/tasks', ready: '[data-testid="task-row"]' },
  { name: 'leads-manager', as: manager, path: '/leads', ready: '[data-testid="lead-row"]' },
  { name: 'lead-new-dialog', as: manager, path: '/leads', ready: '[data-testid="lead-row"]', open: '[data-testid="new-lead"]' },
  { name: 'lead-escalated', as: 'south.manager@leadline.test', path: (d) => `/leads/${d.escalatedLead}`, ready: '[data-testid="lead-escalation"]' },
  { name: 'policies', as: manager, path: '/policies', ready: '[data-testid="policy-editor"]' },
  { name: 'dashboard', as: manager, path: '/dashboard', ready: 'canvas' },
  { name: 'users-manager', as: manager, path: '/users', ready: '[data-testid="user-row"]' },
  { name: 'teams-manager', as: manager, path: '/teams', ready: '[data-testid="team-row"]' },
  { name: 'users-admin', as: 'admin@leadline.test', path: '/users', ready: '[data-testid="user-row"]' },
  { name: 'teams-admin', as: 'admin@leadline.test', path: '/teams', ready: '[data-testid="team-row"]' },
  { name: 'dashboard-ops', as: 'ops@leadline.test', path: '/dashboard', ready: 'canvas' },
  { name: 'lead-ops', as: 'ops@leadline.test', path: (d) => `/leads/${d.repLead}`, ready: '[data-testid="temporal-link"]' },
  { name: 'system-ops', as: 'ops@leadline.test', path: '/system', ready: '[data-testid="poller-row"]' },
];

/** Leads in every state a screen shows: new, contacted, converted, lost, escalated, with their tasks. */
async function seed(web: WebApp): Promise<Demo> {
  const { h } = web;
  const auth = await h.login('admin@leadline.test');
  const teamIds = Object.fromEntries((await h.orm.em.fork().find(TeamSchema, {})).map((team) => [team.name, team.id]));
  let phones = 100;
  const create = async (name: string, team = 'North') => {
    const phone = `+1415555${String((phones += 1)).padStart(4, '0')}`;
    const email = `${name.split(' ')[0]!.toLowerCase()}@example.com`;
    const body = { name, email, phone, source: 'web', teamId: teamIds[team] };
    const res = await request(h.app).post('/api/leads').set('Authorization', auth).send(body).expect(201);
    return (res.body as { lead: { id: string } }).lead.id;
  };
  const names = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson', 'Edsger Dijkstra', 'Barbara Liskov', 'Donald Knuth'];
  const ids: string[] = [];
  for (const name of names) ids.push(await create(name));
  for (const id of ids) await web.assigned(id);
  const post = (id: string, action: string, body: object) => request(h.app).post(`/api/leads/${id}/${action}`).set('Authorization', auth).send(body).expect(200);
  await post(ids[1]!, 'contact', { channel: 'phone', outcome: 'Interested, wants a demo' });
  await post(ids[2]!, 'contact', { channel: 'phone', outcome: 'Ready to buy' });
  await post(ids[2]!, 'convert', { value: 12000 });
  await post(ids[3]!, 'lose', { reason: 'Chose a competitor' });

  // South escalates within seconds, so its lead shows an escalation badge and a manager task.
  await h.setPolicy('South', { businessHoursOnly: false, firstContactSla: '2s', escalation: [{ after: '2s', action: 'notify_manager' }] });
  const escalatedLead = await create('Margaret Hamilton', 'South');
  await eventually(async () => ((await h.orm.em.fork().findOne(LeadSchema, escalatedLead))?.escalationLevel ?? 0) > 0 && true, 30_000);

  const repLead = await eventually(async () => {
    const task = await h.orm.em.fork().findOne(TaskSchema, { assignee: { email: rep }, status: 'open' }, { populate: ['lead'] });
    return task?.lead.id;
  });
  return { repLead, escalatedLead };
}

async function shoot(web: WebApp, screen: Screen, demo: Demo): Promise<void> {
  const path = typeof screen.path === 'function' ? screen.path(demo) : screen.path;
  let page: Page;
  if (screen.as) {
    page = await web.signIn(screen.as);
    await page.goto(`${web.base}${path}`);
  } else {
    await web.browser.context.clearCookies();
    page = await web.browser.context.newPage();
    await page.goto(`${web.base}${path}`);
  }
  await page.locator(screen.ready).first().waitFor({ timeout: 30_000 });
  if (screen.open) await page.locator(screen.open).click();
  // Let fonts, charts' first animation and countdowns settle before the picture.
  await page.evaluate('document.fonts.ready');
  await page.waitForTimeout(600);
  await screenshots(page, screen.name);
  await page.close();
  console.log(`  ${screen.name}.png, ${screen.name}-phone.png`);
}

async function main() {
  process.env.LOG_LEVEL ??= 'error';
  await startServices();
  let web: WebApp | undefined;
  try {
    web = await startWebApp();
    const demo = await seed(web);
    console.log(`screenshots of ${screens.length} screens into ${shots}:`);
    for (const screen of screens) await shoot(web, screen, demo);
  } finally {
    await web?.stop();
    await stopServices();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
