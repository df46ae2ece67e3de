import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express } from 'express';
import request, { type Response } from 'supertest';
import { createApp } from '../api/app.js';
import type { Dependency } from '../api/unavailable.js';
import { LeadEventSchema, LeadSchema, TeamSchema } from '../db/entities.js';
import { eventually, startHarness, type Harness } from './harness.js';
import { throughProxies, type ProxiedDependencies } from './outage.js';

/** The answer clients get while a dependency is away: 503, which one, and when to come back. */
function expectUnavailable(res: Response, dependency: Dependency) {
  expect({ status: res.status, retryAfter: res.headers['retry-after'], error: (res.body as { error?: unknown }).error }).toEqual({
    status: 503,
    retryAfter: '5',
    error: {
      code: 'service_unavailable',
      message: expect.stringContaining(dependency === 'postgres' ? 'the database' : 'the workflow engine'),
      details: { dependency },
    },
  });
}

describe('a dependency that is briefly down', () => {
  let h: Harness;
  let deps: ProxiedDependencies;
  /** An app whose ORM and Temporal client reach their servers through proxies the tests cut. */
  let app: Express;
  let manager: string;
  let northId: string;

  beforeAll(async () => {
    h = await startHarness();
    deps = await throughProxies(h);
    app = createApp({ orm: deps.orm, temporal: deps.temporal, config: h.config });
    manager = await h.login('north.manager@leadline.test');
    northId = (await h.orm.em.fork().findOneOrFail(TeamSchema, { name: 'North' })).id;
  });

  afterAll(async () => {
    await deps?.stop();
    await h?.stop();
  });

  it('when Postgres is away, a list and a create answer 503 naming the database with Retry-After, /readyz says so, nothing is written, and the list answers again once it is back', async () => {
    const leadId = await h.startLead(northId, { name: 'Paula Present', email: 'paula.present@example.com' });
    await request(app).get('/api/leads').set('Authorization', manager).expect(200);

    await deps.postgres.cut();
    try {
      expectUnavailable(await request(app).get('/api/leads').set('Authorization', manager), 'postgres');
      expectUnavailable(await request(app).post('/api/leads').set('Authorization', manager).send({ name: 'Dora Down', email: 'dora.down@example.com' }), 'postgres');
      const ready = await request(app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'not_ready', checks: { postgres: { ok: false }, temporal: { ok: true } } });
    } finally {
      await deps.postgres.restore();
    }

    const list = await request(app).get('/api/leads').set('Authorization', manager).expect(200);
    expect((list.body as { items: { id: string }[] }).items.map((lead) => lead.id)).toContain(leadId);
    await expect(h.orm.em.fork().count(LeadSchema, { email: 'dora.down@example.com' })).resolves.toBe(0);
    await request(app).get('/readyz').expect(200);
  });

  it('when Temporal is away, convert and create answer 503 naming the workflow engine and change nothing, the lead page still answers from Postgres, and both succeed once it is back', async () => {
    const leadId = await h.startLead(northId, { name: 'Tess Timer', email: 'tess.timer@example.com' });
    // Converting needs the workflow running; it is assigned once it has started.
    await eventually(async () => (await h.orm.em.fork().findOneOrFail(LeadSchema, leadId)).status === 'assigned');
    const newLead = { name: 'Nina Nowhere', email: 'nina.nowhere@example.com', teamId: northId };

    await deps.temporalServer.cut();
    try {
      // Side by side: each waits out the Temporal client's own retries (about 20 s) before it gives up.
      const [convert, create, page, ready] = await Promise.all([
        request(app).post(`/api/leads/${leadId}/convert`).set('Authorization', manager).send({ value: 1200 }),
        request(app).post('/api/leads').set('Authorization', manager).send(newLead),
        request(app).get(`/api/leads/${leadId}`).set('Authorization', manager),
        request(app).get('/readyz'),
      ]);
      expectUnavailable(convert, 'temporal');
      expectUnavailable(create, 'temporal');
      // The lead page reads its rows from Postgres and shows the workflow's part as unknown.
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({ lead: { id: leadId, status: 'assigned' }, workflow: { status: 'UNKNOWN', explain: null } });
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ checks: { postgres: { ok: true }, temporal: { ok: false } } });

      // Nothing half-written: the lead is still open, and the new lead's row went back with its workflow start.
      const em = h.orm.em.fork();
      await expect(em.findOneOrFail(LeadSchema, leadId)).resolves.toMatchObject({ status: 'assigned' });
      await expect(em.count(LeadEventSchema, { lead: leadId, type: 'converted' })).resolves.toBe(0);
      await expect(em.count(LeadSchema, { email: newLead.email })).resolves.toBe(0);
    } finally {
      await deps.temporalServer.restore();
    }

    const converted = await request(app).post(`/api/leads/${leadId}/convert`).set('Authorization', manager).send({ value: 1200 }).expect(200);
    expect(converted.body).toMatchObject({ lead: { id: leadId, status: 'converted' } });
    const created = await request(app).post('/api/leads').set('Authorization', manager).send(newLead).expect(201);
    expect(created.body).toMatchObject({ lead: { name: 'Nina Nowhere', status: expect.any(String) } });
    await request(app).get('/readyz').expect(200);
  }, 150_000);
});
