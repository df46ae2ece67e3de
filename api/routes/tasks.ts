import { LockMode, raw } from '@mikro-orm/core';
import { Router } from 'express';
import { z } from 'zod';
import { taskKinds, taskStatuses } from '../../domain/lead.js';
import { LeadSchema, TaskSchema } from '../../db/entities.js';
import { recordLeadEvent } from '../../db/timeline.js';
import { accessibleWhere } from '../accessible.js';
import { requireAuth } from '../auth.js';
import { recordContact } from '../contact.js';
import type { RouteDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';
import { taskView } from '../serializers.js';
import { leadSubject, taskSubject } from '../subjects.js';

const list = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(values)));

const listQuery = z.strictObject({
  status: list(taskStatuses).default(['open']),
  kind: list(taskKinds).optional(),
  assigneeId: z.uuid().optional(),
  leadId: z.uuid().optional(),
  dueBefore: z.iso.datetime({ offset: true }).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(25),
});

const completeBody = z.strictObject({
  outcome: z.string().trim().min(1).max(500),
  notes: z.string().max(5_000).optional(),
});

const idParam = z.object({ id: z.uuid() });

export function taskRoutes({ orm, temporal }: RouteDeps): Router {
  const router = Router();

  /** The follow-up inbox: staff see their own tasks, managers their team's, admins and ops all. Overdue first, then by due time. */
  router.get('/tasks', async (req, res) => {
    const auth = requireAuth(req);
    const query = listQuery.parse(req.query);
    const readable = accessibleWhere(auth.ability, 'read', 'Task');
    if (!readable) {
      res.json({ items: [], total: 0, page: query.page, pageSize: query.pageSize });
      return;
    }
    const now = new Date();
    const filters: Record<string, unknown>[] = [readable, { status: { $in: query.status } }];
    if (query.kind) filters.push({ kind: { $in: query.kind } });
    if (query.assigneeId) filters.push({ assignee: query.assigneeId });
    if (query.leadId) filters.push({ lead: query.leadId });
    if (query.dueBefore) filters.push({ dueAt: { $lt: new Date(query.dueBefore) } });
    const overdue = raw((alias) => `(${alias}.status = 'open' and ${alias}.due_at < ?)`, [now]);
    const [items, total] = await orm.em.findAndCount(TaskSchema, { $and: filters }, {
      populate: ['lead', 'assignee'],
      orderBy: [{ [overdue]: 'desc' }, { dueAt: 'asc' }, { id: 'asc' }],
      limit: query.pageSize,
      offset: (query.page - 1) * query.pageSize,
    });
    res.json({ items: items.map((task) => taskView(task, now)), total, page: query.page, pageSize: query.pageSize });
  });

  /**
   * Marks a task done with its outcome. A `first_contact` task is the SLA clock: completing it logs
   * the contact (which stops the clock and signals the workflow) in the same transaction.
   */
  router.post('/tasks/:id/complete', async (req, res) => {
    const auth = requireAuth(req);
    const task = await orm.em.transactional(async (em) => {
      const parsed = idParam.safeParse(req.params);
      if (!parsed.success) throw notFound('Task');
      // Locked, so two people completing the same task at once get one `done` and one 409.
      const task = await em.findOne(TaskSchema, parsed.data.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!task || auth.ability.cannot('read', taskSubject(task))) throw notFound('Task');
      if (auth.ability.cannot('complete', taskSubject(task))) throw new AppError(403, 'forbidden', 'You may not complete this task');
      const body = completeBody.parse(req.body);
      if (task.status !== 'open') throw new AppError(409, 'task_closed', `The task is already ${task.status}`);

      const lead = await em.findOneOrFail(LeadSchema, task.lead.id);
      const before = task.status;
      if (task.kind === 'first_contact') {
        // Logging contact is the lead's permission too: the task's holder may no longer hold the lead.
        if (auth.ability.cannot('contact', leadSubject(lead))) throw new AppError(403, 'forbidden', 'You may not log contact on this lead');
        // Marks this task (and any other open first-contact task of the lead) done with the outcome.
        await recordContact(em, temporal, lead, auth.user, { channel: 'phone', outcome: body.outcome, notes: body.notes });
      } else {
        Object.assign(task, { status: 'done', outcome: body.outcome, completedAt: new Date() });
      }
      recordLeadEvent(em, lead, {
        type: 'task_completed',
        actor: auth.user,
        data: { taskId: task.id, kind: task.kind, title: task.title, before: { status: before }, after: { status: task.status }, outcome: body.outcome, ...(body.notes ? { notes: body.notes } : {}) },
      });
      return task;
    });
    await orm.em.populate(task, ['lead', 'assignee']);
    res.json({ task: taskView(task, new Date()) });
  });

  return router;
}

/** The request schemas of these routes, for the OpenAPI document. */
export const taskSchemas = { listQuery, completeBody };
