import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LeadEventSchema, LeadSchema, TaskSchema } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import { explainQuery, searchAttributes } from '../workflows/definitions.js';
import { eventually, startHarness, type Harness } from './harness.js';
import { saveHistory } from './histories.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  // Seconds instead of minutes, so the SLA really runs out during the test.
  await h.setPolicy('North', {
    firstContactSla: '2s',
    businessHoursOnly: false,
    escalation: [
      { after: '2s', action: 'remind_assignee' },
      { after: '1h', action: 'notify_manager' },
    ],
  });
});

afterAll(() => h.stop());

describe('a lead created through the API', () => {
  it('is assigned, escalated when the SLA passes, contacted and converted, with rows and history to match', async () => {
    const manager = await h.login('north.manager@leadline.test');
    const created = await request(h.app)
      .post('/api/leads')
      .set('Authorization', manager)
      .set('X-Request-Id', 'trace-grace-1')
      .send({ name: 'Grace Hopper', email: 'Grace@Example.com', phone: '202-555-0143', source: 'web' })
      .expect(201);
    const leadId = created.body.lead.id as string;
    expect(created.body.lead).toMatchObject({ email: 'grace@example.com', phone: '+12025550143', status: 'new' });

    // Assigned by the workflow, with a first-contact task due at the SLA.
    const assigned = await eventually(async () => {
      const res = await request(h.app).get(`/api/leads/${leadId}`).set('Authorization', manager).expect(200);
      return res.body.lead.status === 'assigned' && res.body.workflow.explain ? res.body : null;
    });
    const rep1 = await h.userId('north.rep1@leadline.test');
    expect(assigned.lead.assignee.id).toBe(rep1);
    expect(assigned.temporalUrl).toBe(`${h.config.TEMPORAL_UI_URL}/namespaces/default/workflows/${leadWorkflowId(leadId)}`);
    expect(assigned.workflow.status).toBe('RUNNING');
    expect(assigned.workflow.explain.lastAssignment.candidates.map((c: { reason: string }) => c.reason)).toEqual([
      'next in round_robin',
      'eligible, position 2',
      'eligible, position 3',
    ]);
    const task = await eventually(() => h.orm.em.fork().findOne(TaskSchema, { lead: leadId, kind: 'first_contact' }));
    expect(task.assignee?.id).toBe(rep1);
    expect(task.status).toBe('open');

    // The SLA runs out: one escalation, visible in the row, the timeline and the workflow's answer.
    await eventually(async () => {
      const lead = await h.orm.em.fork().findOneOrFail(LeadSchema, leadId);
      return lead.escalationLevel === 1;
    });
    const handle = h.temporal.workflow.getHandle(leadWorkflowId(leadId));
    const explained = await handle.query(explainQuery);
    expect(explained).toMatchObject({ status: 'assigned', escalationLevel: 1, policyVersion: 2 });
    expect(explained.deadlines).toEqual([expect.objectContaining({ kind: 'escalation', step: 1, action: 'notify_manager' })]);
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.escalationLevel)).toBe(1);
    expect(described.typedSearchAttributes.get(searchAttributes.assignee)).toBe('north.rep1@leadline.test');
    expect(described.typedSearchAttributes.get(searchAttributes.team)).toBe('North');

    // Visible to the same query ops would type in the CLI or the UI.
    await eventually(async () => {
      for await (const info of h.temporal.workflow.list({ query: `LeadStatus='assigned' AND EscalationLevel > 0 AND LeadTeam='North'` })) {
        if (info.workflowId === leadWorkflowId(leadId)) return true;
      }
      return false;
    });

    // The reminder reaches the rep (its email on record) before the rep calls, as the timeline below expects.
    await eventually(async () => {
      const reminded = await h.orm.em.fork().findOne(LeadEventSchema, { lead: leadId, type: 'staff_notified', data: { notice: 'remind_assignee' } });
      return reminded && h.orm.em.fork().count(LeadEventSchema, { lead: leadId, type: 'message_sent' }).then((sent) => sent === 2);
    });

    // The assignee logs the contact: the clock stops and no further escalation is pending.
    const rep = await h.login('north.rep1@leadline.test');
    const contacted = await request(h.app)
      .post(`/api/leads/${leadId}/contact`)
      .set('Authorization', rep)
      .send({ channel: 'phone', outcome: 'Interested, wants a quote' })
      .expect(200);
    expect(contacted.body.lead.status).toBe('contacted');
    expect(contacted.body.lead.firstContactAt).toEqual(expect.any(String));
    await eventually(async () => {
      const state = await handle.query(explainQuery);
      return state.status === 'contacted' && state.phase === 'cadence' && state.deadlines.every((d) => d.kind === 'cadence' || d.kind === 'cadence_end');
    });

    // Convert is a Temporal update: the caller gets the closed lead back.
    const converted = await request(h.app)
      .post(`/api/leads/${leadId}/convert`)
      .set('Authorization', rep)
      .send({ value: 4200.5, notes: 'Signed' })
      .expect(200);
    expect(converted.body.lead).toMatchObject({ status: 'converted', value: 4200.5 });
    expect(converted.body.lead.convertedAt).toEqual(expect.any(String));
    expect(await handle.result()).toMatchObject({ leadId, status: 'converted' });

    // A second convert is refused, not re-run.
    const again = await request(h.app).post(`/api/leads/${leadId}/convert`).set('Authorization', rep).send({}).expect(409);
    expect(again.body.error.code).toBe('lead_closed');

    // The rows: one timeline entry per change, in order, and the task closed by the contact.
    const em = h.orm.em.fork();
    const events = await em.find(LeadEventSchema, { lead: leadId }, { orderBy: { at: 'asc' } });
    // The demo rep takes notices by email: one when the lead is assigned, one when reminded.
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'assigned',
      'task_created',
      'staff_notified',
      'message_sent',
      'escalated',
      'staff_notified',
      'message_sent',
      'contacted',
      'converted',
    ]);
    expect(events.filter((e) => e.type === 'staff_notified').map((e) => [e.data.userId, e.data.notice])).toEqual([
      [rep1, 'assignment'],
      [rep1, 'remind_assignee'],
    ]);
    expect(events.find((e) => e.type === 'escalated')).toMatchObject({ actorKind: 'workflow', policyVersion: 2, data: { action: 'remind_assignee', level: 1 } });
    expect(events.find((e) => e.type === 'contacted')?.actor?.id).toBe(rep1);
    // The request that created the lead is named on what it caused, in the API and in the workflow's activities.
    expect(events.filter((e) => ['created', 'assigned', 'task_created'].includes(e.type)).map((e) => e.requestId)).toEqual(['trace-grace-1', 'trace-grace-1', 'trace-grace-1']);
    const tasks = await em.find(TaskSchema, { lead: leadId });
    expect(tasks.map((t) => [t.kind, t.status, t.outcome])).toEqual([['first_contact', 'done', 'Interested, wants a quote']]);

    // The workflow history: the activities, the signal and the update, and a completed run.
    const history = await handle.fetchHistory();
    const kinds = (history.events ?? []).map((e) => {
      if (e.activityTaskScheduledEventAttributes) return `activity:${e.activityTaskScheduledEventAttributes.activityType?.name}`;
      if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') return `local:${localActivityType(e.markerRecordedEventAttributes)}`;
      if (e.workflowExecutionSignaledEventAttributes) return `signal:${e.workflowExecutionSignaledEventAttributes.signalName}`;
      if (e.workflowExecutionUpdateAcceptedEventAttributes) return `update:${e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name}`;
      if (e.workflowExecutionCompletedEventAttributes) return 'completed';
      if (e.timerStartedEventAttributes) return 'timer';
      return null;
    }).filter(Boolean);
    // The SLA timer comes first. Later timers depend on timing: a signal that lands while an
    // activity runs makes the workflow look again at once instead of starting a timer.
    // Database steps are local activities (a marker each); notices go through the task queue.
    expect(kinds.slice(0, 5)).toEqual(['local:loadLeadContext', 'local:assignLead', 'local:createTask', 'activity:notifyStaff', 'timer']);
    expect(kinds.filter((kind) => kind !== 'timer')).toEqual([
      'local:loadLeadContext',
      'local:assignLead',
      'local:createTask',
      'activity:notifyStaff',
      'local:escalateLead',
      'activity:notifyStaff',
      'signal:contacted',
      // A no-op here: the API's own commit put the contact on record first.
      'local:recordFirstContact',
      'update:convert',
      'local:closeLead',
      'completed',
    ]);
    expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.status)).toBe('converted');
    saveHistory(leadId, 'converted');
  });
});

/** A local activity's history marker names its activity type in the JSON of its `data` detail. */
function localActivityType(marker: { details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null }): string {
  const data = marker.details?.data?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type : 'unknown';
}
