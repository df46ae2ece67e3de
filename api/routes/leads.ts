import { raw, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { leadStatuses, leadWorkflowId, priorities } from '../../domain/lead.js';
import { LeadEventSchema, LeadSchema, MessageSchema, TaskSchema, TeamSchema, UserSchema, type Lead } from '../../db/entities.js';
import { recordLeadEvent } from '../../db/timeline.js';
import { leadTimezone } from '../../messaging/timezone.js';
import type { leadWorkflow } from '../../workflows/lead.js';
import { convertUpdate, explainQuery, leadUpdatedSignal, loseUpdate, pauseSignal, reassignUpdate, resumeSignal, type CloseResult } from '../../workflows/definitions.js';
import { accessibleWhere } from '../accessible.js';
import { requireAuth, type Auth } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { contactBody, ensureOpen, recordContact } from '../contact.js';
import { contactRequired, createLead, duplicateLead, findOpenDuplicate, leadFields } from '../newLead.js';
import { AppError, notFound } from '../errors.js';
import { leadView, timelineView } from '../serializers.js';
import { leadSubject } from '../subjects.js';

const createBody = z.strictObject({ ...leadFields, teamId: z.uuid().optional() }).refine((body) => body.email || body.phone, contactRequired);

const listQuery = z.strictObject({
  status: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(leadStatuses)))
    .optional(),
  assigneeId: z.uuid().optional(),
  teamId: z.uuid().optional(),
  q: z.string().trim().max(200).optional(),
  createdFrom: z.iso.datetime({ offset: true }).optional(),
  createdTo: z.iso.datetime({ offset: true }).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(25),
});

const convertBody = z.strictObject({ value: z.number().nonnegative().max(9_999_999_999).optional(), notes: z.string().max(5_000).optional() });
const loseBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });
const patchBody = z
  .strictObject({
    name: leadFields.name,
    email: leadFields.email.unwrap().nullable(),
    phone: leadFields.phone.unwrap().nullable(),
    priority: z.enum(priorities),
    value: leadFields.value.unwrap().nullable(),
    notes: leadFields.notes.unwrap().nullable(),
    timezone: z.string().refine((zone) => Intl.supportedValuesOf('timeZone').includes(zone) || zone === 'UTC', 'must be an IANA timezone such as America/New_York').nullable(),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change', path: [] });
const pauseBody = z.strictObject({ reason: z.string().trim().min(1).max(200) });
const reassignBody = z.strictObject({ assigneeId: z.uuid() });
const resumeBody = z.strictObject({});
const idParam = z.object({ id: z.uuid() });

/** Loads a lead the caller may read, else 404, so ids of other teams' leads reveal nothing. */
async function readableLead(em: EntityManager, auth: Auth, req: Request): Promise<Lead> {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Lead');
  const lead = await em.findOne(LeadSchema, parsed.data.id, { populate: ['team', 'assignee'] });
  if (!lead || auth.ability.cannot('read', leadSubject(lead))) throw notFound('Lead');
  return lead;
}


/** Lists count exactly up to here; beyond it they say "more than", since counting a million rows takes longer than the page. */
export const LEAD_COUNT_CAP = 10_000;

/**
 * `total` for a lead list, counted on its own (without the page's joins Postgres counts from an index
 * alone) and stopped after the cap: `totalCapped` says the list has more than `total` leads.
 */
async function countLeads(em: SqlEntityManager, filters: Record<string, unknown>[]): Promise<{ total: number; totalCapped: boolean }> {
  const capped = em.createQueryBuilder(LeadSchema, 'l').select(raw('1')).where({ $and: filters }).limit(LEAD_COUNT_CAP + 1).toQuery();
  const [row] = await em.execute<{ n: string }[]>(`select count(*) as n from (${capped.sql}) as capped`, capped.params);
  const counted = Number(row?.n ?? 0);
  return { total: Math.min(counted, LEAD_COUNT_CAP), totalCapped: counted > LEAD_COUNT_CAP };
}

export function leadRoutes({ orm, temporal, config, metrics }: RouteDeps): Router {
  const router = Router();
  const workflow = (leadId: string) => temporal.workflow.getHandle<typeof leadWorkflow>(leadWorkflowId(leadId));
  const temporalUrl = (leadId: string) =>
    `${config.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${leadWorkflowId(leadId)}`;

  router.post('/leads', async (req, res) => {
    const auth = requireAuth(req);
    const body = createBody.parse(req.body);
    const teamId = body.teamId ?? auth.user.team?.id;
    if (!teamId) throw new AppError(400, 'validation_failed', 'Invalid input: teamId', [{ path: 'teamId', message: 'is required for users without a team' }]);
    const em = orm.em;
    const team = await em.findOne(TeamSchema, teamId);
    if (!team) throw new AppError(400, 'validation_failed', 'Invalid input: teamId', [{ path: 'teamId', message: 'no such team' }]);
    if (auth.ability.cannot('create', { kind: 'Lead', id: '', team: team.id, assignee: null })) {
      throw new AppError(403, 'forbidden', 'You may not create leads for this team');
    }

    const existing = await findOpenDuplicate(em, body.email, body.phone);
    if (existing) throw duplicateLead(existing);

    try {
      const { teamId: _team, ...fields } = body;
      const lead = await em.transactional((tx) => createLead(tx, temporal, config.TEMPORAL_TASK_QUEUE, { fields, team, actor: auth.user, via: 'app' }));
      metrics.leadsCreated.inc();
      const created = await em.findOneOrFail(LeadSchema, lead.id, { populate: ['team', 'assignee'], refresh: true });
      res.status(201).json({ lead: leadView(created) });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw duplicateLead(await findOpenDuplicate(em, body.email, body.phone));
      throw error;
    }
  });

  router.get('/leads', async (req, res) => {
    const auth = requireAuth(req);
    const query = listQuery.parse(req.query);
    const readable = accessibleWhere(auth.ability, 'read', 'Lead');
    if (!readable) {
      res.json({ items: [], total: 0, page: query.page, pageSize: query.pageSize });
      return;
    }
    const filters: Record<string, unknown>[] = [readable];
    if (query.status) filters.push({ status: { $in: query.status } });
    if (query.assigneeId) filters.push({ assignee: query.assigneeId });
    if (query.teamId) filters.push({ team: query.teamId });
    if (query.q) {
      const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      filters.push({ $or: [{ name: { $ilike: like } }, { email: { $ilike: like } }, { phone: { $like: like } }] });
    }
    if (query.createdFrom) filters.push({ createdAt: { $gte: new Date(query.createdFrom) } });
    if (query.createdTo) filters.push({ createdAt: { $lt: new Date(query.createdTo) } });
    // The page and its count are independent reads, made side by side.
    const [items, count] = await Promise.all([
      orm.em.find(LeadSchema, { $and: filters }, {
        populate: ['team', 'assignee'],
        orderBy: { createdAt: 'desc', id: 'desc' },
        limit: query.pageSize,
        offset: (query.page - 1) * query.pageSize,
      }),
      countLeads(orm.em as SqlEntityManager, filters),
    ]);
    res.json({ items: items.map(leadView), ...count, page: query.page, pageSize: query.pageSize });
  });

  router.get('/leads/:id', async (req, res) => {
    const auth = requireAuth(req);
    const lead = await readableLead(orm.em, auth, req);
    // The rows and the workflow's state are read side by side: the page waits for the slowest, not the sum.
    const [events, messages, tasks, workflowState] = await Promise.all([
      orm.em.find(LeadEventSchema, { lead: lead.id }, { populate: ['actor'], orderBy: { at: 'asc' } }),
      orm.em.find(MessageSchema, { lead: lead.id }, { orderBy: { createdAt: 'asc' } }),
      orm.em.find(TaskSchema, { lead: lead.id }, { populate: ['assignee'], orderBy: { dueAt: 'asc' } }),
      describeWorkflow(workflow(lead.id)),
    ]);
    res.json({
      lead: leadView(lead),
      workflow: workflowState,
      timeline: timelineView(events, messages),
      tasks: tasks.map((task) => ({
        id: task.id,
        kind: task.kind,
        title: task.title,
        dueAt: task.dueAt,
        status: task.status,
        outcome: task.outcome ?? null,
        assignee: task.assignee ? { id: task.assignee.id, name: task.assignee.name } : null,
      })),
      temporalUrl: temporalUrl(lead.id),
    });
  });

  router.post('/leads/:id/contact', async (req, res) => {
    const auth = requireAuth(req);
    const lead = await orm.em.transactional(async (em) => {
      const lead = await readableLead(em, auth, req);
      if (auth.ability.cannot('contact', leadSubject(lead))) throw new AppError(403, 'forbidden', 'You may not log contact on this lead');
      await recordContact(em, temporal, lead, auth.user, contactBody.parse(req.body));
      return lead;
    });
    res.json({ lead: leadView(lead) });
  });

  const close = (action: 'convert' | 'lose', run: (req: Request, auth: Auth, handle: WorkflowHandle<typeof leadWorkflow>) => Promise<CloseResult>) =>
    async (req: Request, res: Response) => {
      const auth = requireAuth(req);
      const lead = await readableLead(orm.em, auth, req);
      if (auth.ability.cannot(action, leadSubject(lead))) throw new AppError(403, 'forbidden', `You may not ${action} this lead`);
      ensureOpen(lead);
      try {
        await run(req, auth, workflow(lead.id));
      } catch (error) {
        // The workflow's validator refuses a lead that closed in the meantime.
        if (error instanceof WorkflowUpdateFailedError) throw new AppError(409, 'lead_closed', error.cause?.message ?? 'Lead is already closed');
        throw error;
      }
      const closed = await orm.em.findOneOrFail(LeadSchema, lead.id, { populate: ['team', 'assignee'], refresh: true });
      res.json({ lead: leadView(closed) });
    };

  router.post('/leads/:id/convert', close('convert', (req, auth, handle) => {
    const body = convertBody.parse(req.body);
    return handle.executeUpdate(convertUpdate, { args: [{ byUserId: auth.user.id, ...body }] });
  }));

  router.post('/leads/:id/lose', close('lose', (req, auth, handle) => {
    const body = loseBody.parse(req.body);
    return handle.executeUpdate(loseUpdate, { args: [{ byUserId: auth.user.id, ...body }] });
  }));

  router.patch('/leads/:id', async (req, res) => {
    const auth = requireAuth(req);
    const update = () => orm.em.transactional(async (em) => {
      const lead = await readableLead(em, auth, req);
      if (auth.ability.cannot('update', leadSubject(lead))) throw new AppError(403, 'forbidden', 'You may not edit this lead');
      const body = patchBody.parse(req.body);
      ensureOpen(lead);
      if (body.email === null && (body.phone === null || (body.phone === undefined && !lead.phone))) {
        throw new AppError(400, 'validation_failed', 'Invalid input: email', [{ path: 'email', message: 'a lead needs an email or a phone number' }]);
      }
      const changed = Object.entries(body).filter(([field, value]) => lead[field as keyof typeof body] !== value);
      const before = Object.fromEntries(changed.map(([field]) => [field, lead[field as keyof typeof body] ?? null]));
      const duplicate = await findOpenDuplicate(em, body.email ?? undefined, body.phone ?? undefined);
      if (duplicate && duplicate.id !== lead.id) throw duplicateLead(duplicate);
      em.assign(lead, body);
      if (changed.length > 0) recordLeadEvent(em, lead, { type: 'updated', actor: auth.user, data: { before, after: Object.fromEntries(changed) } });
      await em.flush();
      // The lead's timezone (its own, else its phone number's, else the team's) decides its quiet hours.
      if ('timezone' in body || 'phone' in body) {
        await workflow(lead.id).signal(leadUpdatedSignal, { timezone: leadTimezone(lead) });
      }
      return lead;
    });
    try {
      res.json({ lead: leadView(await update()) });
    } catch (error) {
      // Another open lead took this email or phone in the meantime.
      if (error instanceof UniqueConstraintViolationException) throw new AppError(409, 'duplicate_lead', 'An open lead with this email or phone already exists');
      throw error;
    }
  });

  router.post('/leads/:id/reassign', async (req, res) => {
    const auth = requireAuth(req);
    const lead = await readableLead(orm.em, auth, req);
    if (auth.ability.cannot('reassign', leadSubject(lead))) throw new AppError(403, 'forbidden', 'You may not reassign this lead');
    const { assigneeId } = reassignBody.parse(req.body);
    ensureOpen(lead);
    const target = await orm.em.findOne(UserSchema, { id: assigneeId, team: lead.team.id, role: 'staff', active: true });
    if (!target) {
      throw new AppError(400, 'validation_failed', 'Invalid input: assigneeId', [{ path: 'assigneeId', message: 'must be an active staff member of the lead’s team' }]);
    }
    try {
      await workflow(lead.id).executeUpdate(reassignUpdate, { args: [{ byUserId: auth.user.id, assigneeId }] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new AppError(409, 'lead_closed', error.cause?.message ?? 'Lead is already closed');
      throw error;
    }
    const updated = await orm.em.findOneOrFail(LeadSchema, lead.id, { populate: ['team', 'assignee'], refresh: true });
    res.json({ lead: leadView(updated) });
  });

  /** Pause ("waiting on the customer") and resume stop and restart the lead's clocks; the time paused does not count. */
  const pauseOrResume = (action: 'pause' | 'resume') => async (req: Request, res: Response) => {
    const auth = requireAuth(req);
    const lead = await orm.em.transactional(async (em) => {
      const lead = await readableLead(em, auth, req);
      if (auth.ability.cannot('update', leadSubject(lead))) throw new AppError(403, 'forbidden', `You may not ${action} this lead`);
      const reason = action === 'pause' ? pauseBody.parse(req.body).reason : null;
      if (action === 'resume') resumeBody.parse(req.body ?? {});
      ensureOpen(lead);
      if ((action === 'pause') === Boolean(lead.pausedAt)) {
        throw new AppError(409, action === 'pause' ? 'already_paused' : 'not_paused', action === 'pause' ? 'The lead is already paused' : 'The lead is not paused');
      }
      const from = { pausedAt: lead.pausedAt ?? null, pauseReason: lead.pauseReason ?? null };
      lead.pausedAt = reason ? new Date() : null;
      lead.pauseReason = reason;
      recordLeadEvent(em, lead, { type: action === 'pause' ? 'paused' : 'resumed', actor: auth.user, data: { before: from, after: { pausedAt: lead.pausedAt, pauseReason: reason } } });
      await em.flush();
      // Inside the transaction: a pause the workflow did not hear about is not recorded either.
      const handle = workflow(lead.id);
      if (reason) await handle.signal(pauseSignal, { byUserId: auth.user.id, reason });
      else await handle.signal(resumeSignal, { byUserId: auth.user.id });
      return lead;
    });
    res.json({ lead: leadView(lead) });
  };
  router.post('/leads/:id/pause', pauseOrResume('pause'));
  router.post('/leads/:id/resume', pauseOrResume('resume'));

  return router;
}

/** The workflow as Temporal sees it; null parts where the server cannot say (it is down, or the run is gone). */
async function describeWorkflow(handle: WorkflowHandle<typeof leadWorkflow>) {
  try {
    const [description, explain] = await Promise.all([handle.describe(), handle.query(explainQuery).catch(() => null)]);
    return { id: handle.workflowId, runId: description.runId, status: description.status.name, explain };
  } catch {
    return { id: handle.workflowId, runId: null, status: 'UNKNOWN', explain: null };
  }
}

/** The request schemas of these routes, for the OpenAPI document. */
export const leadSchemas = { createBody, listQuery, patchBody, contactBody, convertBody, loseBody, pauseBody, resumeBody, reassignBody };
