import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { businessCalendarSchema } from '../../domain/businessHours.js';
import { openLeadStatuses, roles, type Role } from '../../domain/lead.js';
import { TeamSchema, UserSchema, type User } from '../../db/entities.js';
import { accessibleWhere } from '../accessible.js';
import { requireAuth, type Auth } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { AppError, forbiddenFields, notFound } from '../errors.js';
import { hashPassword } from '../passwords.js';
import { phoneNumber } from '../phone.js';
import { wakeTeamQueue } from '../queue.js';
import { userDetailView } from '../serializers.js';
import { userSubject } from '../subjects.js';

/** A person's own hours: the team calendar's shape, in the team's timezone. */
const workingHours = businessCalendarSchema.omit({ timezone: true });
const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const notifyBy = z
  .array(z.enum(['sms', 'email']))
  .max(2)
  .transform((channels) => [...new Set(channels)]);

const fields = {
  email: z.string().trim().toLowerCase().email().max(254),
  name: z.string().trim().min(1).max(200),
  role: z.enum(roles),
  teamId: z.uuid().nullable(),
  phone: phoneNumber.nullable(),
  password: z.string().min(8, 'must be at least 8 characters').max(200),
  /** Most open leads at once; 0 takes none. */
  capacity: z.number().int().min(0).max(1_000),
  /** Share of a weighted rotation. */
  weight: z.number().int().min(1).max(100),
  workingHours: workingHours.nullable(),
  outOfOfficeFrom: instant.nullable(),
  outOfOfficeUntil: instant.nullable(),
  notifyBy,
  active: z.boolean(),
};

const createBody = z.strictObject({
  ...fields,
  teamId: fields.teamId.default(null),
  phone: fields.phone.default(null),
  capacity: fields.capacity.default(25),
  weight: fields.weight.default(1),
  workingHours: fields.workingHours.default(null),
  outOfOfficeFrom: fields.outOfOfficeFrom.default(null),
  outOfOfficeUntil: fields.outOfOfficeUntil.default(null),
  notifyBy: fields.notifyBy.default(['email']),
  active: fields.active.default(true),
});
const patchBody = z
  .strictObject(fields)
  .partial()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change', path: [] });
type PatchBody = z.infer<typeof patchBody>;

const listQuery = z.strictObject({
  teamId: z.uuid().optional(),
  role: z.enum(roles).optional(),
  active: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
  q: z.string().trim().max(200).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(50),
});

const idParam = z.object({ id: z.uuid() });

/** The settings that decide whether someone can be assigned: changing one may let a queued lead through. */
const eligibilityFields = ['capacity', 'weight', 'workingHours', 'outOfOfficeFrom', 'outOfOfficeUntil', 'active', 'teamId', 'role'] as const;

interface Settled {
  role: Role;
  teamId: string | null;
  phone: string | null;
  notifyBy: ('sms' | 'email')[];
  outOfOfficeFrom: Date | null;
  outOfOfficeUntil: Date | null;
}

const invalid = (details: { path: string; message: string }[]) =>
  new AppError(400, 'validation_failed', `Invalid input: ${details.map((d) => d.path).join(', ')}`, details);

/** The rules that span fields, checked on the user as it would be saved. */
function checkConsistent(user: Settled): void {
  const problems: { path: string; message: string }[] = [];
  if ((user.role === 'staff' || user.role === 'manager') && !user.teamId) {
    problems.push({ path: 'teamId', message: `is required for ${user.role}` });
  }
  if (user.outOfOfficeFrom && user.outOfOfficeUntil && user.outOfOfficeFrom >= user.outOfOfficeUntil) {
    problems.push({ path: 'outOfOfficeUntil', message: 'must be after outOfOfficeFrom' });
  }
  if (user.notifyBy.includes('sms') && !user.phone) {
    problems.push({ path: 'notifyBy', message: 'sms needs a phone number' });
  }
  if (problems.length) throw invalid(problems);
}

async function existingTeam(em: EntityManager, teamId: string | null): Promise<void> {
  if (teamId && !(await em.findOne(TeamSchema, teamId))) throw invalid([{ path: 'teamId', message: 'no such team' }]);
}

async function ensureEmailFree(em: EntityManager, email: string, exceptId?: string): Promise<void> {
  const taken = await em.findOne(UserSchema, { email, ...(exceptId ? { id: { $ne: exceptId } } : {}) });
  if (taken) throw duplicateEmail();
}

/** Open leads per person: the load that assignment weighs against their capacity. */
async function openLeadCounts(em: EntityManager, userIds: string[]): Promise<Map<string, number>> {
  if (!userIds.length) return new Map();
  const rows: { assignee_id: string; open: string }[] = await (em as SqlEntityManager).execute(
    `select assignee_id, count(*) as open from lead where assignee_id in (${userIds.map(() => '?').join(', ')}) and status in (${openLeadStatuses.map(() => '?').join(', ')}) group by assignee_id`,
    [...userIds, ...openLeadStatuses],
  );
  return new Map(rows.map((row) => [row.assignee_id, Number(row.open)]));
}

const duplicateEmail = () => new AppError(409, 'duplicate_email', 'A user with this email already exists');

/**
 * A team's `manager` follows its users: a new manager of a team without one becomes it, and a
 * manager who leaves the team or the role stops being it.
 */
async function syncTeamManager(em: EntityManager, user: User, previousTeamId: string | null): Promise<void> {
  if (previousTeamId && (previousTeamId !== user.team?.id || user.role !== 'manager')) {
    const previous = await em.findOneOrFail(TeamSchema, previousTeamId);
    if (previous.manager?.id === user.id) previous.manager = null;
  }
  if (user.role === 'manager' && user.active && user.team) {
    const team = await em.findOneOrFail(TeamSchema, user.team.id);
    if (!team.manager) team.manager = user;
  }
}

export function userRoutes({ orm, temporal }: RouteDeps): Router {
  const router = Router();

  /** Called after commit. A failure does not undo the saved change: the queue is asked again at its next change. */
  const wakeQueue = (req: Request, teamId: string) =>
    wakeTeamQueue(orm.em, temporal, teamId).catch((error: unknown) => {
      req.log.warn({ err: error, teamId }, 'could not wake the team queue');
    });

  /** Loads a user the caller may read, else 404. */
  async function readableUser(em: EntityManager, auth: Auth, req: Request, lock = false): Promise<User> {
    const parsed = idParam.safeParse(req.params);
    if (!parsed.success) throw notFound('User');
    const user = await em.findOne(UserSchema, parsed.data.id, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!user || auth.ability.cannot('read', userSubject(user))) throw notFound('User');
    return user;
  }

  router.get('/users', async (req, res) => {
    const auth = requireAuth(req);
    const query = listQuery.parse(req.query);
    const readable = accessibleWhere(auth.ability, 'read', 'User');
    if (!readable) {
      res.json({ items: [], total: 0, page: query.page, pageSize: query.pageSize });
      return;
    }
    const filters: Record<string, unknown>[] = [readable];
    if (query.teamId) filters.push({ team: query.teamId });
    if (query.role) filters.push({ role: query.role });
    if (query.active !== undefined) filters.push({ active: query.active });
    if (query.q) {
      const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      filters.push({ $or: [{ name: { $ilike: like } }, { email: { $ilike: like } }] });
    }
    const [items, total] = await orm.em.findAndCount(UserSchema, { $and: filters }, {
      orderBy: { name: 'asc', id: 'asc' },
      limit: query.pageSize,
      offset: (query.page - 1) * query.pageSize,
    });
    const open = await openLeadCounts(orm.em, items.map((user) => user.id));
    res.json({
      items: items.map((user) => ({ ...userDetailView(user), openLeads: open.get(user.id) ?? 0 })),
      total,
      page: query.page,
      pageSize: query.pageSize,
    });
  });

  router.get('/users/:id', async (req, res) => {
    const user = await readableUser(orm.em, requireAuth(req), req);
    res.json({ user: userDetailView(user) });
  });

  router.post('/users', async (req, res) => {
    const auth = requireAuth(req);
    if (auth.ability.cannot('create', 'User')) throw new AppError(403, 'forbidden', 'You may not create users');
    const { password, teamId, ...body } = createBody.parse(req.body);
    checkConsistent({ ...body, teamId });
    await existingTeam(orm.em, teamId);
    if (auth.ability.cannot('create', { kind: 'User', id: '', team: teamId, role: body.role })) {
      throw new AppError(403, 'forbidden', 'You may not create this user');
    }
    await ensureEmailFree(orm.em, body.email);
    const passwordHash = await hashPassword(password);
    const user = await orm.em
      .transactional(async (em) => {
        const user = em.create(UserSchema, { ...body, team: teamId, passwordHash });
        await syncTeamManager(em, user, null);
        return user;
      })
      .catch((error: unknown) => {
        throw error instanceof UniqueConstraintViolationException ? duplicateEmail() : error;
      });
    // Someone new may take the leads waiting in their team's queue.
    if (teamId && user.active) await wakeQueue(req, teamId);
    res.status(201).json({ user: userDetailView(user) });
  });

  /**
   * Admins change anything; a manager changes the assignment settings of their own team's staff
   * (see `staffSettingFields`). A change that may make someone eligible wakes the team's queue.
   */
  router.patch('/users/:id', async (req, res) => {
    const auth = requireAuth(req);
    const { user, changed, teamIds } = await orm.em
      .transactional(async (em) => {
        const user = await readableUser(em, auth, req, true);
        const subject = userSubject(user);
        if (auth.ability.cannot('update', subject)) throw new AppError(403, 'forbidden', 'You may not change this user');
        const body = patchBody.parse(req.body);
        const changed = Object.keys(body) as (keyof PatchBody)[];
        const refused = changed.filter((field) => auth.ability.cannot('update', subject, field));
        if (refused.length) throw forbiddenFields(refused, 'user');

        const { password, teamId, ...rest } = body;
        const previousTeamId = user.team?.id ?? null;
        checkConsistent({
          role: rest.role ?? user.role,
          teamId: teamId === undefined ? previousTeamId : teamId,
          phone: rest.phone === undefined ? (user.phone ?? null) : rest.phone,
          notifyBy: rest.notifyBy ?? user.notifyBy,
          outOfOfficeFrom: rest.outOfOfficeFrom === undefined ? (user.outOfOfficeFrom ?? null) : rest.outOfOfficeFrom,
          outOfOfficeUntil: rest.outOfOfficeUntil === undefined ? (user.outOfOfficeUntil ?? null) : rest.outOfOfficeUntil,
        });
        if (teamId !== undefined) await existingTeam(em, teamId);
        if (rest.email && rest.email !== user.email) await ensureEmailFree(em, rest.email, user.id);

        em.assign(user, { ...rest, ...(teamId === undefined ? {} : { team: teamId }) });
        if (password !== undefined) user.passwordHash = await hashPassword(password);
        await syncTeamManager(em, user, previousTeamId);
        const teamIds = [...new Set([previousTeamId, user.team?.id ?? null])].filter((id): id is string => Boolean(id));
        return { user, changed, teamIds };
      })
      .catch((error: unknown) => {
        throw error instanceof UniqueConstraintViolationException ? duplicateEmail() : error;
      });

    // After commit, so the queue's head, asking again under the team lock, sees the saved settings.
    if (changed.some((field) => (eligibilityFields as readonly string[]).includes(field))) {
      for (const teamId of teamIds) await wakeQueue(req, teamId);
    }
    res.json({ user: userDetailView(user) });
  });

  return router;
}

/** The request schemas of these routes, for the OpenAPI document. */
export const userSchemas = { createBody, patchBody, listQuery };
