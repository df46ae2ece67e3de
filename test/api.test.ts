import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { createApp } from '../api/app.js';
import { LEAD_COUNT_CAP } from '../api/routes/leads.js';
import { demoUsers } from '../db/seeders/DemoSeeder.js';
import { databaseUrl, ensureDatabase } from '../db/databases.js';
import { initORM } from '../db/orm.js';
import { LeadEventSchema, LeadSchema, UserSchema } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import { eventually, startHarness, type Harness } from './harness.js';
import { testServices } from './services.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(() => h.stop());

const createLead = (auth: string, body: Record<string, unknown>) =>
  request(h.app).post('/api/leads').set('Authorization', auth).send(body);

describe('signing in', () => {
  it('when the password is right, then it returns a token, the user and their CASL rules, and sets the session cookie', async () => {
    const res = await request(h.app)
      .post('/api/auth/login')
      .send({ email: 'North.Rep1@LeadLine.test', password: 'leadline' })
      .expect(200);
    expect(res.body.user).toMatchObject({ email: 'north.rep1@leadline.test', role: 'staff' });
    expect(res.body.token).toEqual(expect.any(String));
    expect(res.body.rules).toEqual(expect.arrayContaining([expect.objectContaining({ subject: 'Lead', conditions: { assignee: res.body.user.id } })]));
    expect(res.body.user).not.toHaveProperty('passwordHash');
    const cookie = res.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/^leadline_session=.+HttpOnly/);

    const me = await request(h.app).get('/api/me').set('Cookie', cookie.split(';')[0] ?? '').expect(200);
    expect(me.body.user.email).toBe('north.rep1@leadline.test');
  });

  it('when the password is wrong or the user unknown, then both get the same 401', async () => {
    const wrong = await request(h.app).post('/api/auth/login').send({ email: 'north.rep1@leadline.test', password: 'nope' }).expect(401);
    const unknown = await request(h.app).post('/api/auth/login').send({ email: 'nobody@leadline.test', password: 'nope' }).expect(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe('invalid_credentials');
  });

  it('when a user is deactivated, then their token stops working', async () => {
    const auth = await h.login('north.rep3@leadline.test');
    await request(h.app).get('/api/me').set('Authorization', auth).expect(200);
    const em = h.orm.em.fork();
    const user = await em.findOneOrFail(UserSchema, { email: 'north.rep3@leadline.test' });
    user.active = false;
    await em.flush();
    const res = await request(h.app).get('/api/me').set('Authorization', auth).expect(401);
    expect(res.body.error.code).toBe('unauthenticated');
    user.active = true;
    await em.flush();
  });

  it('outside production, then the demo accounts that are active are listed for the sign-in page, with their password', async () => {
    const em = h.orm.em.fork();
    const rep = await em.findOneOrFail(UserSchema, { email: 'north.rep2@leadline.test' });
    rep.active = false;
    await em.flush();
    const res = await request(h.app).get('/api/auth/demo-accounts').expect(200);
    rep.active = true;
    await em.flush();
    expect(res.body.password).toBe('leadline');
    expect(res.body.accounts.map((a: { email: string }) => a.email)).toEqual(demoUsers.map((u) => u.email).filter((email) => email !== 'north.rep2@leadline.test'));
    expect(res.body.accounts[2]).toEqual({ email: 'north.manager@leadline.test', name: 'Nora North', role: 'manager', team: 'North' });
  });

  it('in production, then there is no demo account list', async () => {
    const production = createApp({ orm: h.orm, temporal: h.temporal, config: { ...h.config, NODE_ENV: 'production' } });
    const res = await request(production).get('/api/auth/demo-accounts').expect(404);
    expect(res.body.error.code).toBe('not_found');
    expect(JSON.stringify(res.body)).not.toContain('leadline.test');
  });

  it('without a session or with a forged token, then the API answers 401', async () => {
    await request(h.app).get('/api/me').expect(401);
    await request(h.app).get('/api/leads').set('Authorization', 'Bearer not.a.token').expect(401);
  });

  it('when the app\'s database has been dropped, then a signed-in caller gets a 500, not a 401 that signs them out', async () => {
    // Found by the chaos run: a Postgres restart turned every request into "Sign in to continue".
    const auth = await h.login('north.rep1@leadline.test');
    const { postgresUrl, templateDatabase } = testServices();
    const name = `gone_${Date.now()}`;
    await ensureDatabase(postgresUrl, name, templateDatabase);
    const orm = await initORM(databaseUrl(postgresUrl, name));
    const app = createApp({ orm, temporal: h.temporal, config: h.config });
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`drop database "${name}" with (force)`);
    await admin.end();
    const res = await request(app).get('/api/me').set('Authorization', auth).expect(500);
    expect(res.body.error.code).toBe('internal');
    await orm.close();
  });
});

describe('creating leads', () => {
  it('when the input is bad, then it answers 400 with every wrong field and writes nothing', async () => {
    const auth = await h.login('north.manager@leadline.test');
    const before = await h.orm.em.fork().count(LeadSchema);
    const res = await createLead(auth, { name: '', email: 'not-an-email', phone: '12', priority: 'whenever', extra: 1 }).expect(400);
    expect(res.body.error.code).toBe('validation_failed');
    const paths = (res.body.error.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(['email', 'extra', 'name', 'phone', 'priority']);
    expect(await h.orm.em.fork().count(LeadSchema)).toBe(before);
  });

  it('when the body is not JSON, then it answers 400 invalid_json', async () => {
    const auth = await h.login('north.manager@leadline.test');
    const res = await request(h.app).post('/api/leads').set('Authorization', auth).set('Content-Type', 'application/json').send('{"name":').expect(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('when an open lead has the same email or phone, then it answers 409 with the existing lead', async () => {
    const auth = await h.login('north.manager@leadline.test');
    const first = await createLead(auth, { name: 'Dup One', email: 'dup@example.com' }).expect(201);
    const byEmail = await createLead(auth, { name: 'Dup Two', email: 'DUP@example.com' }).expect(409);
    expect(byEmail.body.error).toMatchObject({ code: 'duplicate_lead', details: { leadId: first.body.lead.id } });
    await createLead(auth, { name: 'Phone One', phone: '+1 202 555 0177' }).expect(201);
    const byPhone = await createLead(auth, { name: 'Phone Two', phone: '(202) 555-0177' }).expect(409);
    expect(byPhone.body.error.code).toBe('duplicate_lead');
  });

  it('when staff create a lead for another team, then it is forbidden', async () => {
    const auth = await h.login('north.rep1@leadline.test');
    const south = await request(h.app).get('/api/me').set('Authorization', await h.login('south.manager@leadline.test'));
    const res = await createLead(auth, { name: 'Elsewhere', email: 'elsewhere@example.com', teamId: south.body.user.teamId }).expect(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('when leads arrive together, then round robin spreads them evenly across the team', async () => {
    const auth = await h.login('admin@leadline.test');
    const north = (await request(h.app).get('/api/me').set('Authorization', await h.login('north.manager@leadline.test'))).body.user.teamId;
    const created = await Promise.all(
      Array.from({ length: 9 }, (_, i) => createLead(auth, { name: `Burst ${i}`, email: `burst${i}@example.com`, teamId: north }).expect(201)),
    );
    const ids = created.map((res) => res.body.lead.id as string);
    await eventually(async () => {
      const rows = await h.orm.em.fork().find(LeadSchema, { id: { $in: ids } });
      return rows.every((lead) => lead.assignee);
    });
    // The rotation evens out everything the team was given, including earlier tests' leads.
    const all = await h.orm.em.fork().find(LeadSchema, { team: north, assignee: { $ne: null } });
    const perRep = new Map<string, number>();
    for (const lead of all) perRep.set(lead.assignee!.id, (perRep.get(lead.assignee!.id) ?? 0) + 1);
    const counts = [...perRep.values()];
    expect(counts.length).toBe(3);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });
});

describe('reading leads', () => {
  let northLead: string;
  let southLead: string;

  beforeAll(async () => {
    const north = await createLead(await h.login('north.manager@leadline.test'), { name: 'Visible North', email: 'vn@example.com' }).expect(201);
    const south = await createLead(await h.login('south.manager@leadline.test'), { name: 'Visible South', email: 'vs@example.com' }).expect(201);
    northLead = north.body.lead.id;
    southLead = south.body.lead.id;
    await eventually(async () => {
      const rows = await h.orm.em.fork().find(LeadSchema, { id: { $in: [northLead, southLead] }, status: 'assigned' });
      return rows.length === 2;
    });
  });

  const listIds = async (auth: string, query = '') => {
    const res = await request(h.app).get(`/api/leads?pageSize=100${query}`).set('Authorization', auth).expect(200);
    return { ids: (res.body.items as { id: string }[]).map((l) => l.id), body: res.body };
  };

  it('when staff list leads, then they see only leads assigned to them', async () => {
    const lead = await h.orm.em.fork().findOneOrFail(LeadSchema, northLead, { populate: ['assignee'] });
    const assignee = lead.assignee!.email;
    const { ids, body } = await listIds(await h.login(assignee));
    expect(ids).toContain(northLead);
    expect(ids).not.toContain(southLead);
    const rows = await h.orm.em.fork().find(LeadSchema, { id: { $in: ids } }, { populate: ['assignee'] });
    expect(rows.every((row) => row.assignee?.email === assignee)).toBe(true);
    expect(body.total).toBe(ids.length);
  });

  it("when a manager lists or opens leads, then they see their team's and get 404 for another team's", async () => {
    const auth = await h.login('north.manager@leadline.test');
    const { ids } = await listIds(auth);
    expect(ids).toContain(northLead);
    expect(ids).not.toContain(southLead);
    const detail = await request(h.app).get(`/api/leads/${northLead}`).set('Authorization', auth).expect(200);
    expect(detail.body.workflow.id).toBe(leadWorkflowId(northLead));
    expect(detail.body.timeline.map((item: { type: string }) => item.type)).toEqual(expect.arrayContaining(['created', 'assigned']));
    const hidden = await request(h.app).get(`/api/leads/${southLead}`).set('Authorization', auth).expect(404);
    expect(hidden.body.error.code).toBe('not_found');
    await request(h.app).get('/api/leads/not-a-uuid').set('Authorization', auth).expect(404);
  });

  it('when ops list leads, then they see every team but may not change a lead', async () => {
    const auth = await h.login('ops@leadline.test');
    const { ids } = await listIds(auth);
    expect(ids).toEqual(expect.arrayContaining([northLead, southLead]));
    const res = await request(h.app).post(`/api/leads/${northLead}/contact`).set('Authorization', auth).send({ channel: 'phone', outcome: 'x' }).expect(403);
    expect(res.body.error.code).toBe('forbidden');
    expect(await h.orm.em.fork().count(LeadEventSchema, { lead: northLead, type: 'contacted' })).toBe(0);
  });

  it('when filtering by status, text and page, then the list and total follow the filters', async () => {
    const auth = await h.login('admin@leadline.test');
    const { ids } = await listIds(auth, '&q=visible');
    expect(ids.sort()).toEqual([northLead, southLead].sort());
    const page = await request(h.app).get('/api/leads?q=visible&pageSize=1&page=2').set('Authorization', auth).expect(200);
    expect(page.body).toMatchObject({ total: 2, page: 2, pageSize: 1 });
    expect(page.body.items).toHaveLength(1);
    const none = await listIds(auth, '&status=converted&q=visible');
    expect(none.ids).toEqual([]);
    const bad = await request(h.app).get('/api/leads?status=sleeping').set('Authorization', auth).expect(400);
    expect(bad.body.error.details[0].path).toBe('status.0');
  });
});

describe('health', () => {
  it('answers liveness and readiness with both Postgres and Temporal checked', async () => {
    await request(h.app).get('/healthz').expect(200, { status: 'ok' });
    const ready = await request(h.app).get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: { ok: true }, temporal: { ok: true } } });
  });
});

describe('editing a lead', () => {
  it('changes contact fields with a before/after timeline row, refuses a duplicate, and lets only who may', async () => {
    const manager = await h.login('north.manager@leadline.test');
    const a = await createLead(manager, { name: 'Edit Me', email: 'edit.me@example.com' }).expect(201);
    await createLead(manager, { name: 'Taken', email: 'taken@example.com' }).expect(201);
    const id = a.body.lead.id as string;

    const res = await request(h.app)
      .patch(`/api/leads/${id}`)
      .set('Authorization', manager)
      .send({ phone: '202 555 0199', priority: 'high', timezone: 'Europe/Berlin' })
      .expect(200);
    expect(res.body.lead).toMatchObject({ phone: '+12025550199', priority: 'high' });
    const event = await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: id, type: 'updated' });
    expect(event.data).toEqual({ before: { phone: null, priority: 'normal', timezone: null }, after: { phone: '+12025550199', priority: 'high', timezone: 'Europe/Berlin' } });

    const dup = await request(h.app).patch(`/api/leads/${id}`).set('Authorization', manager).send({ email: 'taken@example.com' }).expect(409);
    expect(dup.body.error.code).toBe('duplicate_lead');
    const bad = await request(h.app).patch(`/api/leads/${id}`).set('Authorization', manager).send({ timezone: 'Mars/Olympus', status: 'converted' }).expect(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['status', 'timezone']);
    await request(h.app).patch(`/api/leads/${id}`).set('Authorization', manager).send({}).expect(400);
    expect((await h.orm.em.fork().findOneOrFail(LeadSchema, id)).email).toBe('edit.me@example.com');

    const southManager = await h.login('south.manager@leadline.test');
    await request(h.app).patch(`/api/leads/${id}`).set('Authorization', southManager).send({ notes: 'x' }).expect(404);
    const ops = await h.login('ops@leadline.test');
    await request(h.app).patch(`/api/leads/${id}`).set('Authorization', ops).send({ notes: 'x' }).expect(403);
  });
});

describe('long lead lists', () => {
  it('when more leads match than are counted, then total stops at the cap, says so, and the pages still come', async () => {
    const team = await h.createTeam('Crowded', [{}], {});
    // Closed leads of years ago, written straight to the table: no workflow, and no other test's first page moves.
    await h.orm.em.fork().getConnection().execute(
      `insert into lead (id, name, source, team_id, status, priority, escalation_level, sms_opt_out, email_opt_out, lost_at, created_at, updated_at)
       select gen_random_uuid(), 'Crowd ' || i, 'import', ?, 'lost', 'normal', 0, false, false, now(), timestamptz '2020-01-01' + i * interval '1 minute', now()
       from generate_series(1, ?) as i`,
      [team.id, LEAD_COUNT_CAP + 5],
    );
    const admin = await h.login('admin@leadline.test');
    const first = await request(h.app).get(`/api/leads?teamId=${team.id}&pageSize=100`).set('Authorization', admin).expect(200);
    expect(first.body).toMatchObject({ total: LEAD_COUNT_CAP, totalCapped: true, page: 1, pageSize: 100 });
    expect(first.body.items[0].name).toBe(`Crowd ${LEAD_COUNT_CAP + 5}`);
    const last = await request(h.app).get(`/api/leads?teamId=${team.id}&pageSize=100&page=101`).set('Authorization', admin).expect(200);
    expect(last.body.items.map((lead: { name: string }) => lead.name)).toEqual(['Crowd 5', 'Crowd 4', 'Crowd 3', 'Crowd 2', 'Crowd 1']);
    // A narrower filter under the cap is counted exactly.
    const some = await request(h.app).get(`/api/leads?teamId=${team.id}&q=${encodeURIComponent('Crowd 999')}`).set('Authorization', admin).expect(200);
    expect(some.body).toMatchObject({ total: 11, totalCapped: false });
  });
});
