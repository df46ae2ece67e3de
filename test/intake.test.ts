import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { IntakeRequestSchema, LeadEventSchema, LeadSchema, TaskSchema } from '../db/entities.js';
import { eventually, startHarness, type Harness, type TestTeam, stillPolicy } from './harness.js';

let h: Harness;
let team: TestTeam;
let key: string;
let keyId: string;

beforeAll(async () => {
  h = await startHarness();
  team = await h.createTeam('Web', [{}], stillPolicy);
  const admin = await h.login('admin@leadline.test');
  const res = await request(h.app).post('/api/api-keys').set('Authorization', admin).send({ teamId: team.id, name: 'Website form' }).expect(201);
  key = res.body.key;
  keyId = res.body.apiKey.id;
});

afterAll(() => h?.stop());

const intake = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  request(h.app).post('/api/intake').set({ 'X-Api-Key': key, ...headers }).send(body);

describe('API keys', () => {
  it('are shown once, listed by prefix only, and only admins manage them', async () => {
    expect(key).toMatch(/^ll_[\w-]{32}$/);
    const admin = await h.login('admin@leadline.test');
    const list = await request(h.app).get('/api/api-keys').set('Authorization', admin).expect(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: keyId, name: 'Website form', prefix: key.slice(0, 10), team: { id: team.id, name: 'Web' } })]);
    expect(JSON.stringify(list.body)).not.toContain(key);
    const manager = await h.login(team.managerEmail);
    await request(h.app).get('/api/api-keys').set('Authorization', manager).expect(403);
    await request(h.app).post('/api/api-keys').set('Authorization', manager).send({ teamId: team.id, name: 'Mine' }).expect(403);
  });
});

describe('POST /api/intake', () => {
  it('refuses a request without a valid key', async () => {
    const res = await request(h.app).post('/api/intake').send({ name: 'No Key', email: 'nokey@example.com' }).expect(401);
    expect(res.body.error.code).toBe('invalid_api_key');
    await request(h.app).post('/api/intake').set('X-Api-Key', 'll_wrong').send({ name: 'Bad Key', email: 'bad@example.com' }).expect(401);
  });

  it('creates a lead in the key’s team and runs its workflow; a retry with the same Idempotency-Key returns the first answer', async () => {
    const first = await intake({ name: 'Form Lead', email: 'Form@Example.com' }, { 'Idempotency-Key': 'form-123' }).expect(201);
    const leadId = first.body.lead.id as string;
    const again = await intake({ name: 'Form Lead', email: 'Form@Example.com' }, { 'Idempotency-Key': 'form-123' }).expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const lead = await eventually(async () => {
      const row = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['team', 'assignee'] });
      return row.assignee ? row : null;
    });
    expect(lead).toMatchObject({ email: 'form@example.com', source: 'website', status: 'assigned' });
    expect(lead.team.id).toBe(team.id);
    expect(await h.orm.em.fork().count(LeadSchema, { email: 'form@example.com' })).toBe(1);
    const created = await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: leadId, type: 'created' });
    expect(created).toMatchObject({ actorKind: 'system', data: { via: 'api key Website form' } });
  });

  it('merges a second inquiry for an open lead into it, and the assignee gets a task to get back to them', async () => {
    const first = await intake({ name: 'Repeat Visitor', phone: '+1 202 555 0166' }).expect(201);
    const leadId = first.body.lead.id as string;
    await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: leadId, kind: 'first_contact' }));
    const merged = await intake({ name: 'Repeat Visitor', phone: '(202) 555-0166', notes: 'Still interested!' }).expect(202);
    expect(merged.body).toEqual({ lead: { id: leadId }, outcome: 'merged' });
    expect(await h.orm.em.fork().count(LeadSchema, { phone: '+12025550166' })).toBe(1);
    const event = await h.orm.em.fork().findOneOrFail(LeadEventSchema, { lead: leadId, type: 'inquiry_merged' });
    expect(event.data).toMatchObject({ fields: { notes: 'Still interested!' } });
    const task = await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: leadId, kind: 'reply' }));
    expect(task.title).toBe('The lead asked again through a form: get back to them');
  });

  it('rejects bad input with the field and writes nothing', async () => {
    const before = await h.orm.em.fork().count(IntakeRequestSchema, {});
    const res = await intake({ name: '', email: 'not-an-email', extra: 1 }).expect(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['email', 'extra', 'name']);
    await intake({ name: 'Long key', email: 'long@example.com' }, { 'Idempotency-Key': 'x'.repeat(201) }).expect(400);
    expect(await h.orm.em.fork().count(IntakeRequestSchema, {})).toBe(before);
    expect(await h.orm.em.fork().count(LeadSchema, { email: { $in: ['not-an-email', 'long@example.com'] } })).toBe(0);
  });

  it('stops accepting a revoked key', async () => {
    const admin = await h.login('admin@leadline.test');
    await request(h.app).delete(`/api/api-keys/${keyId}`).set('Authorization', admin).expect(200);
    await intake({ name: 'Too Late', email: 'late@example.com' }).expect(401);
  });
});
