import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp } from '../api/app.js';
import { LeadSchema, PolicySchema, PolicyVersionSchema, TeamSchema, UserSchema } from '../db/entities.js';
import { weekdays } from '../domain/businessHours.js';
import { defaultPolicyRules } from '../domain/policy.js';
import { DEMO_PASSWORD } from '../db/seeders/DemoSeeder.js';
import { allHours, eventually, startHarness, stillPolicy, type Harness } from './harness.js';

let h: Harness;
let north: string;
let south: string;

beforeAll(async () => {
  h = await startHarness();
  const em = h.orm.em.fork();
  north = (await em.findOneOrFail(TeamSchema, { name: 'North' })).id;
  south = (await em.findOneOrFail(TeamSchema, { name: 'South' })).id;
});

afterAll(() => h.stop());

/** Calls the API as a demo user and checks the status. */
const as = (method: 'get' | 'post' | 'patch') => async (email: string, path: string, ...rest: [status: number] | [body: unknown, status: number]) => {
  const [body, status] = rest.length === 1 ? [undefined, rest[0]] : rest;
  const call = request(h.app)[method](path).set('Authorization', await h.login(email));
  return (body === undefined ? call : call.send(body as object)).expect(status);
};
const get = as('get');
const post = as('post');
const patch = as('patch');
const paths = (res: request.Response) => (res.body.error.details as { path: string }[]).map((d) => d.path).sort();

const nineToFive = { weekly: Object.fromEntries(weekdays.map((day) => [day, day === 'sat' || day === 'sun' ? [] : [['09:00', '17:00']]])), holidays: ['2026-12-25'] };

describe('reading users', () => {
  it('when staff list users, then they see only themselves and get 404 for anyone else', async () => {
    const me = await h.userId('north.rep1@leadline.test');
    const res = await get('north.rep1@leadline.test', '/api/users', 200);
    expect(res.body).toMatchObject({ total: 1, page: 1, pageSize: 50 });
    expect(res.body.items.map((u: { id: string }) => u.id)).toEqual([me]);
    const teammate = await h.userId('north.rep2@leadline.test');
    const hidden = await get('north.rep1@leadline.test', `/api/users/${teammate}`, 404);
    expect(hidden.body).toEqual({ error: { code: 'not_found', message: 'User not found' } });
    await get('north.rep1@leadline.test', `/api/users/${me}`, 200);
  });

  it("when a manager lists users, then they see their own team's and get 404 for another team's", async () => {
    const res = await get('north.manager@leadline.test', '/api/users', 200);
    const emails = (res.body.items as { email: string }[]).map((u) => u.email).sort();
    expect(emails).toEqual(['north.manager@leadline.test', 'north.rep1@leadline.test', 'north.rep2@leadline.test', 'north.rep3@leadline.test']);
    expect(res.body.total).toBe(4);
    const southRep = await h.userId('south.rep1@leadline.test');
    await get('north.manager@leadline.test', `/api/users/${southRep}`, 404);
    // A filter cannot widen what the rules allow.
    const other = await get('north.manager@leadline.test', `/api/users?teamId=${south}`, 200);
    expect(other.body).toMatchObject({ items: [], total: 0 });
  });

  it('when admins and ops list users, then they see everyone, filtered and paged, and never a password hash', async () => {
    for (const email of ['admin@leadline.test', 'ops@leadline.test']) {
      const res = await get(email, '/api/users?pageSize=100', 200);
      expect(res.body.total).toBeGreaterThanOrEqual(8);
      expect(JSON.stringify(res.body)).not.toMatch(/passwordHash|\$argon2/);
    }
    const staff = await get('admin@leadline.test', `/api/users?role=staff&teamId=${north}`, 200);
    expect((staff.body.items as { email: string }[]).map((u) => u.email)).toEqual(['north.rep1@leadline.test', 'north.rep2@leadline.test', 'north.rep3@leadline.test']);
    expect(staff.body.total).toBe(3);
    const page = await get('admin@leadline.test', '/api/users?q=rep&pageSize=2&page=2', 200);
    expect(page.body).toMatchObject({ total: 4, page: 2, pageSize: 2 });
    expect(page.body.items).toHaveLength(2);
    const detail = await get('admin@leadline.test', `/api/users/${await h.userId('north.rep1@leadline.test')}`, 200);
    expect(detail.body.user).toEqual({
      id: expect.any(String),
      email: 'north.rep1@leadline.test',
      name: 'Ned Rep',
      role: 'staff',
      teamId: north,
      phone: '+12025550101',
      active: true,
      capacity: 25,
      weight: 1,
      workingHours: null,
      outOfOfficeFrom: null,
      outOfOfficeUntil: null,
      notifyBy: ['email'],
      createdAt: expect.any(String),
    });
    const bad = await get('admin@leadline.test', '/api/users?role=boss', 400);
    expect(paths(bad)).toEqual(['role']);
  });

  it('when users are listed, then each carries their open leads, the load weighed against capacity', async () => {
    const team = await h.createTeam('Loaded', [{ capacity: 3 }], stillPolicy);
    const leadId = await h.startLead(team.id, { name: 'Load Lead', email: 'load@example.com' });
    await eventually(async () => (await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).assignee);
    const res = await get(team.managerEmail, '/api/users', 200);
    const load = Object.fromEntries((res.body.items as { email: string; openLeads: number }[]).map((u) => [u.email, u.openLeads]));
    expect(load).toEqual({ 'loaded.manager@leadline.test': 0, 'loaded.rep1@leadline.test': 1 });
  });
});

describe('creating users', () => {
  const newUser = {
    email: 'New.Rep@LeadLine.test',
    name: 'Nell New',
    role: 'staff',
    teamId: '',
    phone: '(202) 555-0188',
    password: 'correct horse battery',
    capacity: 5,
    weight: 3,
    workingHours: nineToFive,
    notifyBy: ['sms', 'email'],
  };

  it('when an admin creates a user, then it is stored with a lower-case email and E.164 phone, and can sign in', async () => {
    const res = await post('admin@leadline.test', '/api/users', { ...newUser, teamId: north }, 201);
    expect(res.body.user).toEqual({
      id: expect.any(String),
      email: 'new.rep@leadline.test',
      name: 'Nell New',
      role: 'staff',
      teamId: north,
      phone: '+12025550188',
      active: true,
      capacity: 5,
      weight: 3,
      workingHours: nineToFive,
      outOfOfficeFrom: null,
      outOfOfficeUntil: null,
      notifyBy: ['sms', 'email'],
      createdAt: expect.any(String),
    });
    expect(JSON.stringify(res.body)).not.toMatch(/password/i);
    const row = await h.orm.em.fork().findOneOrFail(UserSchema, res.body.user.id, { populate: ['passwordHash'] });
    expect(row.passwordHash).toMatch(/^\$argon2/);
    const login = await request(h.app).post('/api/auth/login').send({ email: 'NEW.rep@leadline.test', password: 'correct horse battery' }).expect(200);
    expect(login.body.user.id).toBe(res.body.user.id);
  });

  it('when the email is taken in any case, then it answers 409 duplicate_email and writes nothing', async () => {
    const before = await h.orm.em.fork().count(UserSchema);
    const res = await post('admin@leadline.test', '/api/users', { ...newUser, email: 'NORTH.REP1@leadline.test', teamId: north }, 409);
    expect(res.body).toEqual({ error: { code: 'duplicate_email', message: 'A user with this email already exists' } });
    expect(await h.orm.em.fork().count(UserSchema)).toBe(before);
  });

  it('when the input is bad, then it answers 400 with every wrong field and writes nothing', async () => {
    const before = await h.orm.em.fork().count(UserSchema);
    const res = await post('admin@leadline.test', '/api/users', {
      email: 'nope',
      name: '',
      role: 'boss',
      teamId: north,
      phone: '12',
      password: 'short',
      capacity: -1,
      weight: 101,
      workingHours: { ...nineToFive, weekly: { ...nineToFive.weekly, mon: [['17:00', '09:00']] } },
      outOfOfficeFrom: 'tomorrow',
      notifyBy: ['pigeon'],
      shoeSize: 44,
    }, 400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(paths(res)).toEqual([
      'capacity', 'email', 'name', 'notifyBy.0', 'outOfOfficeFrom', 'password', 'phone', 'role', 'shoeSize', 'weight', 'workingHours.weekly.mon.0',
    ]);
    expect(await h.orm.em.fork().count(UserSchema)).toBe(before);
  });

  it('when staff have no team, sms has no phone or leave ends before it starts, then it answers 400 at those fields', async () => {
    const res = await post('admin@leadline.test', '/api/users', {
      email: 'loose@leadline.test', name: 'Loose', role: 'staff', password: 'long enough', notifyBy: ['sms'],
      outOfOfficeFrom: '2026-07-10T00:00:00Z', outOfOfficeUntil: '2026-07-01T00:00:00Z',
    }, 400);
    expect(paths(res)).toEqual(['notifyBy', 'outOfOfficeUntil', 'teamId']);
    const unknownTeam = await post('admin@leadline.test', '/api/users', { ...newUser, email: 'x@leadline.test', teamId: '00000000-0000-4000-8000-000000000000' }, 400);
    expect(unknownTeam.body.error.details).toEqual([{ path: 'teamId', message: 'no such team' }]);
    expect(await h.orm.em.fork().count(UserSchema, { email: { $in: ['loose@leadline.test', 'x@leadline.test'] } })).toBe(0);
  });

  it('when a manager, staff or ops create a user, then it is forbidden and nothing is written', async () => {
    const before = await h.orm.em.fork().count(UserSchema);
    for (const email of ['north.manager@leadline.test', 'north.rep1@leadline.test', 'ops@leadline.test']) {
      const res = await post(email, '/api/users', { ...newUser, email: 'sneaky@leadline.test', teamId: north }, 403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect(await h.orm.em.fork().count(UserSchema)).toBe(before);
  });

  it('when an admin creates the manager of a team without one, then the team gets that manager', async () => {
    const team = await post('admin@leadline.test', '/api/teams', { name: 'East', timezone: 'America/New_York', businessHours: nineToFive }, 201);
    expect(team.body.team.manager).toBeNull();
    const manager = await post('admin@leadline.test', '/api/users', { email: 'east.manager@leadline.test', name: 'Eve East', role: 'manager', teamId: team.body.team.id, password: DEMO_PASSWORD }, 201);
    const after = await get('admin@leadline.test', `/api/teams/${team.body.team.id}`, 200);
    expect(after.body.team.manager).toEqual({ id: manager.body.user.id, name: 'Eve East', email: 'east.manager@leadline.test' });
  });
});

describe('changing users', () => {
  it("when a manager changes their own staff's assignment settings, then they are saved", async () => {
    const rep = await h.userId('north.rep2@leadline.test');
    const res = await patch('north.manager@leadline.test', `/api/users/${rep}`, {
      capacity: 7,
      weight: 2,
      workingHours: nineToFive,
      outOfOfficeFrom: '2026-08-01T00:00:00Z',
      outOfOfficeUntil: '2026-08-15T00:00:00.000+02:00',
    }, 200);
    expect(res.body.user).toMatchObject({
      id: rep,
      capacity: 7,
      weight: 2,
      workingHours: nineToFive,
      outOfOfficeFrom: '2026-08-01T00:00:00.000Z',
      outOfOfficeUntil: '2026-08-14T22:00:00.000Z',
    });
    const row = await h.orm.em.fork().findOneOrFail(UserSchema, rep);
    expect({ capacity: row.capacity, weight: row.weight, workingHours: row.workingHours }).toEqual({ capacity: 7, weight: 2, workingHours: nineToFive });
    await patch('north.manager@leadline.test', `/api/users/${rep}`, { outOfOfficeFrom: null, outOfOfficeUntil: null, workingHours: null }, 200);
  });

  it("when a manager changes anything else of their staff, or another team's staff, or themselves, then it is refused and nothing changes", async () => {
    const rep = await h.userId('north.rep2@leadline.test');
    const refused = await patch('north.manager@leadline.test', `/api/users/${rep}`, { capacity: 9, role: 'manager', email: 'x@leadline.test' }, 403);
    expect(refused.body.error).toEqual({ code: 'forbidden', message: 'You may not change email, role of this user', details: [{ path: 'email', message: 'you may not change this field' }, { path: 'role', message: 'you may not change this field' }] });
    const southRep = await h.userId('south.rep1@leadline.test');
    await patch('north.manager@leadline.test', `/api/users/${southRep}`, { capacity: 1 }, 404);
    const self = await h.userId('north.manager@leadline.test');
    await patch('north.manager@leadline.test', `/api/users/${self}`, { capacity: 1 }, 403);
    const rows = await h.orm.em.fork().find(UserSchema, { id: { $in: [rep, southRep, self] } });
    expect(rows.map((u) => [u.email, u.role, u.capacity]).sort()).toEqual([
      ['north.manager@leadline.test', 'manager', 25],
      ['north.rep2@leadline.test', 'staff', 7],
      ['south.rep1@leadline.test', 'staff', 25],
    ]);
  });

  it('when staff or ops change a user, even themselves, then it is forbidden', async () => {
    const me = await h.userId('north.rep1@leadline.test');
    await patch('north.rep1@leadline.test', `/api/users/${me}`, { capacity: 100 }, 403);
    await patch('ops@leadline.test', `/api/users/${me}`, { capacity: 100 }, 403);
    expect((await h.orm.em.fork().findOneOrFail(UserSchema, me)).capacity).toBe(25);
  });

  it('when the change is bad, then it answers 400 at the field and nothing changes', async () => {
    const rep = await h.userId('north.rep3@leadline.test');
    const res = await patch('north.manager@leadline.test', `/api/users/${rep}`, { weight: 0, capacity: 2.5 }, 400);
    expect(paths(res)).toEqual(['capacity', 'weight']);
    const order = await patch('north.manager@leadline.test', `/api/users/${rep}`, { outOfOfficeFrom: '2026-08-02T00:00:00Z', outOfOfficeUntil: '2026-08-01T00:00:00Z' }, 400);
    expect(paths(order)).toEqual(['outOfOfficeUntil']);
    const empty = await patch('north.manager@leadline.test', `/api/users/${rep}`, {}, 400);
    expect(empty.body.error.code).toBe('validation_failed');
    const row = await h.orm.em.fork().findOneOrFail(UserSchema, rep);
    expect([row.weight, row.capacity, row.outOfOfficeFrom]).toEqual([1, 25, null]);
  });

  it('when an admin changes email, role, team and password, then they are saved, and a taken email is 409', async () => {
    const created = await post('admin@leadline.test', '/api/users', { email: 'mover@leadline.test', name: 'Mo Mover', role: 'staff', teamId: north, password: 'first password' }, 201);
    const id = created.body.user.id as string;
    const taken = await patch('admin@leadline.test', `/api/users/${id}`, { email: 'South.Rep1@leadline.test' }, 409);
    expect(taken.body.error.code).toBe('duplicate_email');
    const res = await patch('admin@leadline.test', `/api/users/${id}`, { email: 'Moved@LeadLine.test', teamId: south, password: 'second password', name: 'Mo Moved' }, 200);
    expect(res.body.user).toMatchObject({ email: 'moved@leadline.test', teamId: south, name: 'Mo Moved' });
    await request(h.app).post('/api/auth/login').send({ email: 'moved@leadline.test', password: 'second password' }).expect(200);
    await request(h.app).post('/api/auth/login').send({ email: 'moved@leadline.test', password: 'first password' }).expect(401);
  });

  it('when a manager raises the capacity of a full team, then the lead waiting in its queue is assigned', async () => {
    const team = await h.createTeam('Queued', [{ capacity: 0 }], { businessHoursOnly: false });
    const leadId = await h.startLead(team.id, { name: 'Waiting Lead', email: 'waiting@example.com' });
    await eventually(async () => (await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).queuedAt);
    const rep = team.staff[0]!;
    await patch(team.managerEmail, `/api/users/${rep.id}`, { capacity: 1 }, 200);
    const lead = await eventually(async () => {
      const row = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['assignee'] });
      return row.assignee ? row : null;
    });
    expect(lead.assignee!.id).toBe(rep.id);
    expect(lead.queuedAt).toBeNull();
  });

  it('when an admin adds someone to a team whose leads wait in its queue, then the waiting lead goes to them', async () => {
    const team = await h.createTeam('Hiring', [{ capacity: 0 }], { businessHoursOnly: false });
    const leadId = await h.startLead(team.id, { name: 'Waiting For Hire', email: 'hire@example.com' });
    await eventually(async () => (await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).queuedAt);
    const hired = await post('admin@leadline.test', '/api/users', { email: 'hired@leadline.test', name: 'Hal Hired', role: 'staff', teamId: team.id, password: 'long enough' }, 201);
    const lead = await eventually(async () => {
      const row = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['assignee'] });
      return row.assignee ? row : null;
    });
    expect(lead.assignee!.id).toBe(hired.body.user.id);
  });
});

describe('teams', () => {
  it('when a manager lists teams, then they see only their own and get 404 for another', async () => {
    const res = await get('north.manager@leadline.test', '/api/teams', 200);
    expect(res.body.items).toEqual([
      {
        id: north,
        name: 'North',
        timezone: 'America/New_York',
        businessHours: allHours,
        manager: { id: await h.userId('north.manager@leadline.test'), name: 'Nora North', email: 'north.manager@leadline.test' },
        policyId: expect.any(String),
        createdAt: expect.any(String),
        memberCount: await h.orm.em.fork().count(UserSchema, { team: north, active: true }),
      },
    ]);
    expect(res.body.items[0].memberCount).toBeGreaterThanOrEqual(4);
    await get('north.manager@leadline.test', `/api/teams/${south}`, 404);
    await get('north.manager@leadline.test', `/api/teams/${north}`, 200);
    const staff = await get('north.rep1@leadline.test', '/api/teams', 200);
    expect(staff.body).toEqual({ items: [] });
    const all = await get('ops@leadline.test', '/api/teams', 200);
    expect((all.body.items as { name: string }[]).map((t) => t.name)).toEqual(expect.arrayContaining(['North', 'South']));
  });

  it('when an admin creates a team, then it gets the default policy as version 1', async () => {
    const res = await post('admin@leadline.test', '/api/teams', { name: 'West', timezone: 'America/Los_Angeles', businessHours: nineToFive }, 201);
    expect(res.body.team).toEqual({
      id: expect.any(String),
      name: 'West',
      timezone: 'America/Los_Angeles',
      businessHours: nineToFive,
      manager: null,
      policyId: expect.any(String),
      createdAt: expect.any(String),
    });
    const em = h.orm.em.fork();
    const policy = await em.findOneOrFail(PolicySchema, res.body.team.policyId, { populate: ['team'] });
    expect([policy.team.id, policy.currentVersion, policy.name]).toEqual([res.body.team.id, 1, 'Default']);
    const versions = await em.find(PolicyVersionSchema, { policy: policy.id }, { populate: ['createdBy'] });
    expect(versions.map((v) => [v.version, v.rules, v.createdBy?.email])).toEqual([[1, defaultPolicyRules, 'admin@leadline.test']]);
  });

  it('when the team input is bad or the name taken, then it answers 400 or 409 and writes nothing', async () => {
    const before = await h.orm.em.fork().count(TeamSchema);
    const bad = await post('admin@leadline.test', '/api/teams', {
      name: '',
      timezone: 'Mars/Olympus_Mons',
      businessHours: { weekly: { ...nineToFive.weekly, tue: [['09:00', '17:5']] }, holidays: ['someday'] },
    }, 400);
    expect(paths(bad)).toEqual(['businessHours.holidays.0', 'businessHours.weekly.tue.0.1', 'name', 'timezone']);
    const taken = await post('admin@leadline.test', '/api/teams', { name: 'North', timezone: 'UTC', businessHours: nineToFive }, 409);
    expect(taken.body.error.code).toBe('duplicate_team_name');
    const forbidden = await post('north.manager@leadline.test', '/api/teams', { name: 'Mine', timezone: 'UTC', businessHours: nineToFive }, 403);
    expect(forbidden.body.error.code).toBe('forbidden');
    expect(await h.orm.em.fork().count(TeamSchema)).toBe(before);
    expect(await h.orm.em.fork().count(PolicySchema, { team: { name: { $in: ['', 'Mine'] } } })).toBe(0);
  });

  it("when a manager changes their team's hours, then they are saved; its name, or another team, they may not", async () => {
    const res = await patch('north.manager@leadline.test', `/api/teams/${north}`, { timezone: 'America/Detroit', businessHours: allHours }, 200);
    expect(res.body.team).toMatchObject({ id: north, timezone: 'America/Detroit', businessHours: allHours });
    const renamed = await patch('north.manager@leadline.test', `/api/teams/${north}`, { name: 'Best' }, 403);
    expect(renamed.body.error.details).toEqual([{ path: 'name', message: 'you may not change this field' }]);
    await patch('north.manager@leadline.test', `/api/teams/${south}`, { timezone: 'UTC' }, 404);
    await patch('north.rep1@leadline.test', `/api/teams/${north}`, { timezone: 'UTC' }, 404);
    const bad = await patch('north.manager@leadline.test', `/api/teams/${north}`, { timezone: 'Nowhere' }, 400);
    expect(paths(bad)).toEqual(['timezone']);
    const em = h.orm.em.fork();
    expect((await em.findOneOrFail(TeamSchema, north)).timezone).toBe('America/Detroit');
    expect((await em.findOneOrFail(TeamSchema, south)).timezone).toBe('America/Chicago');
  });

  it('when an admin names a manager, then it must be an active manager of that team', async () => {
    const rep = await h.userId('south.rep1@leadline.test');
    const res = await patch('admin@leadline.test', `/api/teams/${south}`, { managerId: rep }, 400);
    expect(res.body.error.details).toEqual([{ path: 'managerId', message: 'must be an active manager of this team' }]);
    const manager = await h.userId('south.manager@leadline.test');
    const ok = await patch('admin@leadline.test', `/api/teams/${south}`, { managerId: manager, name: 'South West' }, 200);
    expect(ok.body.team).toMatchObject({ name: 'South West', manager: { id: manager } });
    await patch('admin@leadline.test', `/api/teams/${south}`, { name: 'South' }, 200);
  });
});

describe('hardening', () => {
  it('when sign-in fails too often for one email from one address, then it answers 429 until the window ends', async () => {
    const app = createApp({ orm: h.orm, temporal: h.temporal, config: h.config, loginRateLimit: { windowMs: 60_000, max: 3 } });
    const attempt = (email: string, password: string) => request(app).post('/api/auth/login').send({ email, password });
    // Successful sign-ins do not count.
    for (let i = 0; i < 5; i++) await attempt('north.rep1@leadline.test', DEMO_PASSWORD).expect(200);
    for (let i = 0; i < 3; i++) await attempt('north.rep1@leadline.test', 'guess').expect(401);
    const limited = await attempt('North.Rep1@leadline.test', 'guess').expect(429);
    expect(limited.body).toEqual({ error: { code: 'rate_limited', message: 'Too many sign-in attempts; try again later' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The right password too, while the window lasts; another email is not affected.
    await attempt('north.rep1@leadline.test', DEMO_PASSWORD).expect(429);
    await attempt('north.rep2@leadline.test', DEMO_PASSWORD).expect(200);
  });

  it('with the default limit, then the tenth failure still answers 401 and the eleventh 429', async () => {
    for (let i = 0; i < 10; i++) await request(h.app).post('/api/auth/login').send({ email: 'nobody@leadline.test', password: 'x' }).expect(401);
    await request(h.app).post('/api/auth/login').send({ email: 'nobody@leadline.test', password: 'x' }).expect(429);
  });

  it('when CORS_ORIGINS is not set, then no CORS header is sent; when set, only to those origins', async () => {
    const closed = await request(h.app).get('/api/me').set('Origin', 'https://evil.example').set('Authorization', await h.login('north.rep1@leadline.test')).expect(200);
    expect(closed.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await request(h.app).options('/api/leads').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-methods']).toBeUndefined();

    const app = createApp({ orm: h.orm, temporal: h.temporal, config: { ...h.config, CORS_ORIGINS: ['https://app.example.com'] } });
    const allowed = await request(app).options('/api/leads').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST').expect(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const other = await request(app).get('/api/me').set('Origin', 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('when a write has a body that is not JSON, then it answers 415 and writes nothing', async () => {
    const auth = await h.login('admin@leadline.test');
    const before = await h.orm.em.fork().count(UserSchema);
    const form = await request(h.app).post('/api/users').set('Authorization', auth).type('form').send({ email: 'form@leadline.test' }).expect(415);
    expect(form.body).toEqual({ error: { code: 'unsupported_media_type', message: 'Send the request body as application/json' } });
    const text = await request(h.app).patch(`/api/teams/${north}`).set('Authorization', auth).set('Content-Type', 'text/plain').send('name=x').expect(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    expect(await h.orm.em.fork().count(UserSchema)).toBe(before);
    // A write without a body, or with an empty one, is fine.
    await request(h.app).post('/api/auth/logout').expect(204);
    await request(h.app).post('/api/auth/logout').set('Content-Length', '0').expect(204);
  });

  it('gives every response a request id, keeping a sane one the caller sent', async () => {
    const fresh = await request(h.app).get('/healthz').expect(200);
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await request(h.app).get('/api/me').set('X-Request-Id', 'trace-abc.123').expect(401);
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    const replaced = await request(h.app).get('/healthz').set('X-Request-Id', 'bad id\twith "stuff"');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves Prometheus metrics labelled by route pattern to ops, admins and the metrics token only', async () => {
    const ops = await h.login('ops@leadline.test');
    const rep = await h.userId('north.rep1@leadline.test');
    await request(h.app).get(`/api/users/${rep}`).set('Authorization', ops).expect(200);
    await request(h.app).get('/api/users/00000000-0000-4000-8000-000000000000').set('Authorization', ops).expect(404);

    await request(h.app).get('/metrics').expect(401);
    await request(h.app).get('/metrics').set('Authorization', await h.login('north.manager@leadline.test')).expect(403);
    const res = await request(h.app).get('/metrics').set('Authorization', ops).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toMatch(/^leadline_http_request_duration_seconds_bucket\{le="[\d.]+",method="GET",route="\/api\/users\/:id",status="200"\} [1-9]/m);
    expect(res.text).toMatch(/^leadline_http_request_duration_seconds_count\{method="GET",route="\/api\/users\/:id",status="404"\} [1-9]\d*$/m);
    expect(res.text).toMatch(/^leadline_http_request_duration_seconds_count\{method="POST",route="\/api\/auth\/login",status="200"\} \d+$/m);
    expect(res.text).toMatch(/^leadline_leads_created_total \d+$/m);
    expect(res.text).not.toContain(rep);
    await request(h.app).get('/metrics').set('Authorization', await h.login('admin@leadline.test')).expect(200);

    const token = 'scraper-token-0123456789';
    const app = createApp({ orm: h.orm, temporal: h.temporal, config: { ...h.config, METRICS_TOKEN: token } });
    const scraped = await request(app).get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
    expect(scraped.text).toContain('# TYPE leadline_http_request_duration_seconds histogram');
    await request(app).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789').expect(401);
  });
});
