import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LeadSchema, PolicySchema, TaskSchema, TeamSchema, UserSchema } from '../db/entities.js';
import { eventually, startHarness, type Harness } from './harness.js';

/**
 * The authorization matrix: every route with a row × every role × (own row, own team's row, other
 * team's row) and no session. "ok" requests carry an invalid body, so reaching validation (400)
 * proves the caller was let through without changing anything; a caller kept out gets 404 when
 * it may not see the row and 403 when it may see it but not act. No answer may name a row the
 * caller may not read.
 */

type Role = 'admin' | 'ops' | 'manager' | 'staff';
type Scope = 'own' | 'team' | 'other';
type Expect = 'ok' | 403 | 404;
const roles: Role[] = ['admin', 'ops', 'manager', 'staff'];
const scopes: Scope[] = ['own', 'team', 'other'];
const emails: Record<Role, string> = {
  admin: 'admin@leadline.test',
  ops: 'ops@leadline.test',
  manager: 'north.manager@leadline.test',
  staff: 'north.rep1@leadline.test',
};

let h: Harness;
const auth = {} as Record<Role, string>;
/** Row ids by kind and scope, seen from north.rep1 (own), North (team) and South (other). */
const rows = {} as Record<'lead' | 'task' | 'user' | 'team' | 'policy', Record<Scope, string>>;

beforeAll(async () => {
  h = await startHarness();
  for (const role of roles) auth[role] = await h.login(emails[role]);
  const em = h.orm.em.fork();
  const [rep1, rep2, southRep] = await Promise.all(
    ['north.rep1@leadline.test', 'north.rep2@leadline.test', 'south.rep1@leadline.test'].map((email) => em.findOneOrFail(UserSchema, { email })),
  );
  const [north, south] = await Promise.all(['North', 'South'].map((name) => em.findOneOrFail(TeamSchema, { name })));

  // Three leads, each on its way to the right person, created the normal way.
  const lead = async (teamId: string, name: string) =>
    (await request(h.app).post('/api/leads').set('Authorization', auth.admin).send({ name, email: `${name.replace(/\W/g, '').toLowerCase()}@example.com`, teamId }).expect(201)).body.lead.id as string;
  const own = await lead(north!.id, 'Own Lead');
  const team = await lead(north!.id, 'Team Lead');
  const other = await lead(south!.id, 'Other Lead');
  await eventually(async () => (await h.orm.em.fork().count(TaskSchema, { lead: { $in: [own, team, other] }, kind: 'first_contact' })) === 3);
  // Round robin decides who gets which; put them where the matrix needs them.
  for (const [id, user] of [[own, rep1!], [team, rep2!]] as const) {
    const assigned = await h.orm.em.fork().findOneOrFail(LeadSchema, id, { populate: ['assignee'] });
    if (assigned.assignee?.id !== user.id) {
      await request(h.app).post(`/api/leads/${id}/reassign`).set('Authorization', auth.admin).send({ assigneeId: user.id }).expect(200);
    }
  }
  const task = async (leadId: string) => (await h.orm.em.fork().findOneOrFail(TaskSchema, { lead: leadId, kind: 'first_contact' })).id;
  rows.lead = { own, team, other };
  rows.task = { own: await task(own), team: await task(team), other: await task(other) };
  rows.user = { own: rep1!.id, team: rep2!.id, other: southRep!.id };
  rows.team = { own: north!.id, team: north!.id, other: south!.id };
  const policy = async (teamId: string) => (await em.findOneOrFail(PolicySchema, { team: teamId })).id;
  rows.policy = { own: await policy(north!.id), team: await policy(north!.id), other: await policy(south!.id) };
  await eventually(async () => (await h.orm.em.fork().findOneOrFail(TaskSchema, rows.task.own)).assignee?.id === rep1!.id);
});

afterAll(() => h?.stop());

/** Per role: own, team, other. The "own" user of managers and ops is the staff member rep1, like for staff. */
const grid = (spec: Record<Role, [Expect, Expect, Expect]>) => spec;
const all = (value: Expect): [Expect, Expect, Expect] => [value, value, value];
const readLead = grid({ admin: all('ok'), ops: all('ok'), manager: ['ok', 'ok', 404], staff: ['ok', 404, 404] });
const readTeamRow = grid({ admin: all('ok'), ops: all('ok'), manager: ['ok', 'ok', 404], staff: all(404) });
/** Who may read which row: the lists and the leak checks follow it. */
const readable: Record<keyof typeof rows, Record<Role, [Expect, Expect, Expect]>> = {
  lead: readLead,
  task: readLead,
  user: readLead,
  team: readTeamRow,
  policy: readTeamRow,
};
const actOnLead = grid({ admin: all('ok'), ops: all(403), manager: ['ok', 'ok', 404], staff: ['ok', 404, 404] });

interface Case {
  name: string;
  method: 'get' | 'post' | 'put' | 'patch';
  kind: keyof typeof rows;
  path: (id: string) => string;
  /** An invalid body: an allowed caller gets 400 and nothing changes. */
  invalid?: object;
  /** The answer names the row itself (not so for a policy's version list). */
  namesRow?: boolean;
  expect: Record<Role, [Expect, Expect, Expect]>;
}

const cases: Case[] = [
  { name: 'read a lead', method: 'get', kind: 'lead', path: (id) => `/api/leads/${id}`, expect: readable.lead },
  { name: 'edit a lead', method: 'patch', kind: 'lead', path: (id) => `/api/leads/${id}`, invalid: { priority: 'sky-high' }, expect: actOnLead },
  { name: 'log contact', method: 'post', kind: 'lead', path: (id) => `/api/leads/${id}/contact`, invalid: { channel: 'pigeon' }, expect: actOnLead },
  { name: 'convert', method: 'post', kind: 'lead', path: (id) => `/api/leads/${id}/convert`, invalid: { value: -1 }, expect: actOnLead },
  { name: 'lose', method: 'post', kind: 'lead', path: (id) => `/api/leads/${id}/lose`, invalid: { reason: '' }, expect: actOnLead },
  { name: 'pause', method: 'post', kind: 'lead', path: (id) => `/api/leads/${id}/pause`, invalid: { reason: '' }, expect: actOnLead },
  { name: 'resume', method: 'post', kind: 'lead', path: (id) => `/api/leads/${id}/resume`, invalid: { now: true }, expect: actOnLead },
  {
    name: 'reassign',
    method: 'post',
    kind: 'lead',
    path: (id) => `/api/leads/${id}/reassign`,
    invalid: { assigneeId: 'nobody' },
    expect: grid({ admin: all('ok'), ops: all(403), manager: ['ok', 'ok', 404], staff: [403, 404, 404] }),
  },
  {
    name: 'complete a task',
    method: 'post',
    kind: 'task',
    path: (id) => `/api/tasks/${id}/complete`,
    invalid: { outcome: '' },
    expect: grid({ admin: all('ok'), ops: all(403), manager: ['ok', 'ok', 404], staff: ['ok', 404, 404] }),
  },
  {
    name: 'read a user',
    method: 'get',
    kind: 'user',
    path: (id) => `/api/users/${id}`,
    expect: readable.user,
  },
  {
    name: 'change a user',
    method: 'patch',
    kind: 'user',
    path: (id) => `/api/users/${id}`,
    invalid: { capacity: -5 },
    expect: grid({ admin: all('ok'), ops: all(403), manager: ['ok', 'ok', 404], staff: [403, 404, 404] }),
  },
  {
    name: 'read a team',
    method: 'get',
    kind: 'team',
    path: (id) => `/api/teams/${id}`,
    expect: readable.team,
  },
  {
    name: 'change a team',
    method: 'patch',
    kind: 'team',
    path: (id) => `/api/teams/${id}`,
    invalid: { timezone: 'Nowhere/Land' },
    expect: grid({ admin: all('ok'), ops: all(403), manager: ['ok', 'ok', 404], staff: all(404) }),
  },
  ...(['', '/versions'] as const).map(
    (suffix): Case => ({
      name: `read a policy${suffix}`,
      method: 'get',
      kind: 'policy',
      path: (id) => `/api/policies/${id}${suffix}`,
      namesRow: suffix === '',
      expect: readable.policy,
    }),
  ),
  ...([
    ['put', ''],
    ['post', '/simulate'],
  ] as const).map(
    ([method, suffix]): Case => ({
      name: `${method} policy${suffix}`,
      method,
      kind: 'policy',
      path: (id) => `/api/policies/${id}${suffix}`,
      invalid: { rules: { firstContactSla: 'soon' } },
      expect: grid({ admin: all('ok'), ops: all(403), manager: ['ok', 'ok', 404], staff: all(404) }),
    }),
  ),
];

/** Ids each role may not read: none may appear in any answer to that role. */
function hiddenFrom(role: Role): string[] {
  const hidden: string[] = [];
  for (const kind of Object.keys(rows) as (keyof typeof rows)[]) {
    for (const scope of scopes) {
      if (readable[kind][role][scopes.indexOf(scope)] === 404) hidden.push(rows[kind][scope]);
    }
  }
  // A rep's own lead names its team, and its assignment decision names the teammates considered.
  return role === 'staff' ? hidden.filter((id) => id !== rows.user.team && id !== rows.team.own) : hidden;
}

describe('the authorization matrix', () => {
  const matrix = cases.flatMap((c) => roles.flatMap((role) => scopes.map((scope, i) => [c.name, role, scope, c.expect[role][i]!, c] as const)));

  it.each(matrix)('%s as %s on the %s row: %s', async (_name, role, scope, expected, c) => {
    const id = rows[c.kind][scope];
    let call = request(h.app)[c.method](c.path(id)).set('Authorization', auth[role]);
    if (c.invalid) call = call.send(c.invalid);
    const res = await call;
    const wanted = expected === 'ok' ? (c.invalid ? 400 : 200) : expected;
    expect([res.status, res.body.error?.code ?? 'ok']).toEqual([wanted, { 200: 'ok', 400: 'validation_failed', 403: 'forbidden', 404: 'not_found' }[wanted]]);
    if (wanted === 200 && c.namesRow !== false) expect(JSON.stringify(res.body)).toContain(id);
    for (const secret of hiddenFrom(role)) expect(JSON.stringify(res.body)).not.toContain(secret);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s without a session: 401', async (_name, c) => {
    let call = request(h.app)[c.method](c.path(rows[c.kind].own));
    if (c.invalid) call = call.send(c.invalid);
    const res = await call.expect(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });
});

describe('lists show only what the role may read', () => {
  const lists = {
    '/api/leads': 'lead',
    '/api/tasks?status=open,done,cancelled': 'task',
    '/api/users': 'user',
    '/api/teams': 'team',
    '/api/policies': 'policy',
  } as const;
  it.each(roles.flatMap((role) => Object.entries(lists).map(([path, kind]) => [path, role, kind] as const)))('%s as %s', async (path, role, kind) => {
    const res = await request(h.app).get(path).set('Authorization', auth[role]).expect(200);
    const body = JSON.stringify(res.body);
    for (const secret of hiddenFrom(role)) expect(body).not.toContain(secret);
    // And it is not empty for lack of trying: the caller's own rows are there.
    if (readable[kind][role][0] === 'ok') expect(body).toContain(rows[kind].own);
  });

  it.each(Object.keys(lists).map((path) => [path]))('%s without a session: 401', async (path) => {
    await request(h.app).get(path).expect(401);
  });

  it.each([
    ['/api/stats', { admin: 200, ops: 200, manager: 200, staff: 403 }],
    ['/api/api-keys', { admin: 200, ops: 403, manager: 403, staff: 403 }],
    ['/api/system', { admin: 200, ops: 200, manager: 403, staff: 403 }],
  ] as const)('%s by role', async (path, statuses) => {
    for (const role of roles) {
      const res = await request(h.app).get(path).set('Authorization', auth[role]);
      expect([role, res.status]).toEqual([role, statuses[role]]);
      for (const secret of hiddenFrom(role)) expect(JSON.stringify(res.body)).not.toContain(secret);
    }
    await request(h.app).get(path).expect(401);
  });
});

describe('creating', () => {
  const northLead = (teamId: string) => ({ name: 'New One', email: `new.${teamId.slice(0, 8)}@example.com`, teamId });
  it.each([
    ['admin', 'own', 'ok'],
    ['admin', 'other', 'ok'],
    ['ops', 'own', 403],
    ['manager', 'own', 'ok'],
    ['manager', 'other', 403],
    ['staff', 'own', 'ok'],
    ['staff', 'other', 403],
  ] as const)('a lead as %s in the %s team: %s', async (role, scope, expected) => {
    const teamId = rows.team[scope];
    // Allowed callers send an invalid body (nothing is created); refused ones a valid one, which must not be.
    const body = expected === 'ok' ? { ...northLead(teamId), email: 'not-an-email' } : northLead(teamId);
    const res = await request(h.app).post('/api/leads').set('Authorization', auth[role]).send(body);
    expect(res.status).toBe(expected === 'ok' ? 400 : expected);
    expect(await h.orm.em.fork().count(LeadSchema, { name: 'New One' })).toBe(0);
  });

  it.each([
    ['/api/users', { email: 'x@leadline.test', name: 'X', role: 'staff', password: 'short' }],
    ['/api/teams', { name: '', timezone: 'UTC' }],
    ['/api/policies', { teamId: 'nope', name: 'x' }],
    ['/api/api-keys', { teamId: 'nope', name: '' }],
  ] as const)('%s: admin only', async (path, invalid) => {
    await request(h.app).post(path).set('Authorization', auth.admin).send(invalid).expect(400);
    for (const role of ['ops', 'manager', 'staff'] as const) {
      const res = await request(h.app).post(path).set('Authorization', auth[role]).send(invalid);
      expect([role, res.status]).toEqual([role, 403]);
    }
    await request(h.app).post(path).send(invalid).expect(401);
  });
});
