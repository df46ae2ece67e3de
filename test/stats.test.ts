import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LeadEventSchema, LeadSchema } from '../db/entities.js';
import { eventually, startHarness, type Harness, type TestTeam, stillPolicy } from './harness.js';

let h: Harness;
let team: TestTeam;
let other: TestTeam;
const leads: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  const quiet = stillPolicy;
  team = await h.createTeam('Stats', [{}, {}], quiet);
  other = await h.createTeam('Elsewhere', [{}], quiet);
  for (let i = 0; i < 4; i++) leads.push(await h.startLead(team.id, { name: `Stats ${i}` }));
  await h.startLead(other.id, { name: 'Not yours' });
  await eventually(async () => (await h.orm.em.fork().count(LeadSchema, { assignee: { $ne: null } })) === 5);
  // Two leads contacted within the SLA, one of them converted.
  for (const leadId of leads.slice(0, 2)) {
    const row = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId, { populate: ['assignee'] });
    const rep = await h.login(row.assignee!.email);
    await request(h.app).post(`/api/leads/${leadId}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Talked' }).expect(200);
  }
  const converter = await h.login(team.managerEmail);
  await request(h.app).post(`/api/leads/${leads[0]}/convert`).set('Authorization', converter).send({ value: 100 }).expect(200);
});

afterAll(() => h?.stop());

describe('GET /api/stats', () => {
  it('gives a manager their team: funnel, SLA attainment, conversion and speed to lead per rep and team', async () => {
    const manager = await h.login(team.managerEmail);
    const { body } = await request(h.app).get('/api/stats').set('Authorization', manager).expect(200);
    expect(body.funnel).toEqual({ new: 0, assigned: 2, contacted: 1, converted: 1, lost: 0, unresponsive: 0 });
    expect(body.teams).toHaveLength(1);
    const [total] = body.teams;
    expect(total).toMatchObject({ team: { name: 'Stats' }, leads: 4, assigned: 4, contacted: 2, slaMet: 2, slaDue: 2, converted: 1, conversionRate: 1 });
    // With one team in scope, the total over all of them is that team's.
    expect(body.total).toEqual({ ...total, team: undefined });
    // Two contacted, both in time; the two still open are not due yet, so they do not count against it.
    expect(total.slaAttainment).toBe(1);
    expect(total.speedToLead.routingSeconds.p50).toBeGreaterThanOrEqual(0);
    expect(total.speedToLead.routingSeconds.p50).toBeLessThan(30);
    expect(total.speedToLead.responseSeconds.p50).toBeGreaterThanOrEqual(0);
    expect(body.reps.map((r: { rep: { name: string }; leads: number }) => [r.rep.name, r.leads])).toEqual([
      ['Stats Rep 1', 2],
      ['Stats Rep 2', 2],
    ]);
    expect(body.escalationsPerDay).toEqual([]);
  });

  it('gives ops every team, and a team filter narrows it', async () => {
    const ops = await h.login('ops@leadline.test');
    const all = await request(h.app).get('/api/stats').set('Authorization', ops).expect(200);
    expect(all.body.teams.map((t: { team: { name: string } }) => t.team.name)).toEqual(['Elsewhere', 'Stats']);
    // The total is over every lead in scope, computed in the same query (percentiles cannot be summed from the teams').
    expect(all.body.total).toMatchObject({ leads: 5, assigned: 5, contacted: 2, converted: 1 });
    expect(all.body.total.speedToLead.routingSeconds.p90).toBeGreaterThanOrEqual(all.body.total.speedToLead.routingSeconds.p50);
    const one = await request(h.app).get(`/api/stats?teamId=${other.id}`).set('Authorization', ops).expect(200);
    expect(one.body.teams.map((t: { leads: number }) => t.leads)).toEqual([1]);
  });

  it('exports CSV with a team total and a row per rep', async () => {
    const manager = await h.login(team.managerEmail);
    const res = await request(h.app).get('/api/stats?format=csv').set('Authorization', manager).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="?leadline-stats-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv/);
    const lines = res.text.trim().split('\n');
    expect(lines[0]).toBe('team,rep,leads,assigned,contacted,sla_met,sla_due,sla_attainment,converted,conversion_rate,routing_p50_s,routing_p90_s,response_p50_s,response_p90_s');
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 3).join(','))).toEqual(['Stats,(team total),4', 'Stats,Stats Rep 1,2', 'Stats,Stats Rep 2,2']);
  });

  it('answers a range without leads with zeros and no rows, not an error', async () => {
    const manager = await h.login(team.managerEmail);
    const { body } = await request(h.app).get('/api/stats?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z').set('Authorization', manager).expect(200);
    expect(body.total).toMatchObject({ leads: 0, assigned: 0, contacted: 0, slaDue: 0, slaAttainment: null, conversionRate: null });
    expect(body.total.speedToLead.responseSeconds).toEqual({ p50: null, p90: null });
    expect([body.teams, body.reps, body.escalationsPerDay]).toEqual([[], [], []]);
  });

  it('counts escalations per day in the asked time zone', async () => {
    const em = h.orm.em.fork();
    // 23:30 UTC on 10 March is already 11 March in Berlin (UTC+1 then).
    const event = em.create(LeadEventSchema, { lead: leads[3]!, type: 'escalated', at: new Date('2026-03-10T23:30:00Z'), actorKind: 'workflow', data: { action: 'remind_assignee', level: 1 } });
    await em.flush();
    try {
      const manager = await h.login(team.managerEmail);
      const range = 'from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z';
      const utc = await request(h.app).get(`/api/stats?${range}`).set('Authorization', manager).expect(200);
      expect(utc.body.escalationsPerDay).toEqual([{ day: '2026-03-10', count: 1 }]);
      const berlin = await request(h.app).get(`/api/stats?${range}&tz=Europe/Berlin`).set('Authorization', manager).expect(200);
      expect(berlin.body).toMatchObject({ tz: 'Europe/Berlin', escalationsPerDay: [{ day: '2026-03-11', count: 1 }] });
      const bad = await request(h.app).get(`/api/stats?${range}&tz=Mars/Olympus`).set('Authorization', manager).expect(400);
      expect(bad.body.error.details).toEqual([{ path: 'tz', message: 'must be an IANA timezone such as Europe/Berlin' }]);
    } finally {
      // The metrics below count escalations of all time.
      await em.remove(event).flush();
    }
  });

  it('refuses staff, and rejects a bad range with the field', async () => {
    const rep = await h.login(team.staff[0]!.email);
    await request(h.app).get('/api/stats').set('Authorization', rep).expect(403);
    const ops = await h.login('ops@leadline.test');
    const bad = await request(h.app).get('/api/stats?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z').set('Authorization', ops).expect(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'from', message: 'must be before `to`' }] });
    await request(h.app).get('/api/stats?format=xml').set('Authorization', ops).expect(400);
  });
});

describe('GET /metrics', () => {
  it('reports leads by status, the queue, escalations and messages from the database', async () => {
    const ops = await h.login('ops@leadline.test');
    const res = await request(h.app).get('/metrics').set('Authorization', ops).expect(200);
    expect(res.text).toMatch(/^leadline_leads\{status="assigned"\} 3$/m);
    expect(res.text).toMatch(/^leadline_leads\{status="contacted"\} 1$/m);
    expect(res.text).toMatch(/^leadline_leads\{status="converted"\} 1$/m);
    expect(res.text).toMatch(/^leadline_queued_leads 0$/m);
    expect(res.text).toMatch(/^leadline_escalations 0$/m);
    expect(res.text).toContain('# HELP leadline_messages Messages by channel, direction and status');
  });
});
