import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { businessCalendarSchema } from '../../domain/businessHours.js';
import { defaultPolicyRules } from '../../domain/policy.js';
import { PolicySchema, PolicyVersionSchema, TeamSchema, UserSchema, type Team } from '../../db/entities.js';
import { accessibleWhere } from '../accessible.js';
import { requireAuth, type Auth } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { AppError, forbiddenFields, notFound } from '../errors.js';
import { wakeTeamQueue } from '../queue.js';
import { teamView } from '../serializers.js';
import { teamSubject } from '../subjects.js';

const fields = {
  name: z.string().trim().min(1).max(100),
  timezone: businessCalendarSchema.shape.timezone,
  businessHours: businessCalendarSchema.omit({ timezone: true }),
};
const createBody = z.strictObject(fields);
const patchBody = z
  .strictObject({ ...fields, managerId: z.uuid().nullable() })
  .partial()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change', path: [] });
type PatchBody = z.infer<typeof patchBody>;
const idParam = z.object({ id: z.uuid() });

const duplicateName = () => new AppError(409, 'duplicate_team_name', 'A team with this name already exists');

async function ensureNameFree(em: EntityManager, name: string, exceptId?: string): Promise<void> {
  if (await em.findOne(TeamSchema, { name, ...(exceptId ? { id: { $ne: exceptId } } : {}) })) throw duplicateName();
}

/** Active people per team, for the teams list. */
async function memberCounts(em: EntityManager, teamIds: string[]): Promise<Map<string, number>> {
  if (!teamIds.length) return new Map();
  const rows: { team_id: string; members: string }[] = await (em as SqlEntityManager).execute(
    `select team_id, count(*) as members from app_user where active and team_id in (${teamIds.map(() => '?').join(', ')}) group by team_id`,
    teamIds,
  );
  return new Map(rows.map((row) => [row.team_id, Number(row.members)]));
}

export function teamRoutes({ orm, temporal }: RouteDeps): Router {
  const router = Router();

  /** Loads a team the caller may read, else 404. */
  async function readableTeam(em: EntityManager, auth: Auth, req: Request, lock = false): Promise<Team> {
    const parsed = idParam.safeParse(req.params);
    if (!parsed.success) throw notFound('Team');
    const team = await em.findOne(TeamSchema, parsed.data.id, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!team || auth.ability.cannot('read', teamSubject(team))) throw notFound('Team');
    return team;
  }

  const view = async (em: EntityManager, team: Team) => {
    await em.populate(team, ['manager']);
    return teamView(team);
  };

  router.get('/teams', async (req, res) => {
    const auth = requireAuth(req);
    const readable = accessibleWhere(auth.ability, 'read', 'Team');
    const teams = readable ? await orm.em.find(TeamSchema, readable, { populate: ['manager'], orderBy: { name: 'asc' } }) : [];
    const members = await memberCounts(orm.em, teams.map((team) => team.id));
    res.json({ items: teams.map((team) => ({ ...teamView(team), memberCount: members.get(team.id) ?? 0 })) });
  });

  router.get('/teams/:id', async (req, res) => {
    const team = await readableTeam(orm.em, requireAuth(req), req);
    res.json({ team: await view(orm.em, team) });
  });

  /** A new team starts with the default policy as its version 1, so its first lead has rules to run by. */
  router.post('/teams', async (req, res) => {
    const auth = requireAuth(req);
    if (auth.ability.cannot('create', 'Team')) throw new AppError(403, 'forbidden', 'You may not create teams');
    const body = createBody.parse(req.body);
    await ensureNameFree(orm.em, body.name);
    const team = await orm.em
      .transactional(async (em) => {
        const team = em.create(TeamSchema, body);
        const policy = em.create(PolicySchema, { team, name: 'Default', currentVersion: 1 });
        em.create(PolicyVersionSchema, { policy, version: 1, rules: defaultPolicyRules, createdBy: auth.user });
        team.policy = policy;
        return team;
      })
      .catch((error: unknown) => {
        throw error instanceof UniqueConstraintViolationException ? duplicateName() : error;
      });
    res.status(201).json({ team: await view(orm.em, team) });
  });

  /** Admins change anything; a team's manager changes when it is open (`teamHoursFields`). */
  router.patch('/teams/:id', async (req, res) => {
    const auth = requireAuth(req);
    const { team, changed } = await orm.em
      .transactional(async (em) => {
        const team = await readableTeam(em, auth, req, true);
        const subject = teamSubject(team);
        if (auth.ability.cannot('update', subject)) throw new AppError(403, 'forbidden', 'You may not change this team');
        const body = patchBody.parse(req.body);
        const changed = Object.keys(body) as (keyof PatchBody)[];
        const refused = changed.filter((field) => auth.ability.cannot('update', subject, field));
        if (refused.length) throw forbiddenFields(refused, 'team');

        const { managerId, ...rest } = body;
        if (rest.name && rest.name !== team.name) await ensureNameFree(em, rest.name, team.id);
        if (managerId) {
          const manager = await em.findOne(UserSchema, { id: managerId, team: team.id, role: 'manager', active: true });
          if (!manager) {
            throw new AppError(400, 'validation_failed', 'Invalid input: managerId', [{ path: 'managerId', message: 'must be an active manager of this team' }]);
          }
        }
        em.assign(team, { ...rest, ...(managerId === undefined ? {} : { manager: managerId }) });
        return { team, changed };
      })
      .catch((error: unknown) => {
        throw error instanceof UniqueConstraintViolationException ? duplicateName() : error;
      });

    // New opening hours may put people on shift: the queue's head asks again.
    if (changed.includes('businessHours') || changed.includes('timezone')) {
      await wakeTeamQueue(orm.em, temporal, team.id).catch((error: unknown) => {
        req.log.warn({ err: error, teamId: team.id }, 'could not wake the team queue');
      });
    }
    res.json({ team: await view(orm.em, team) });
  });

  return router;
}

/** The request schemas of these routes, for the OpenAPI document. */
export const teamSchemas = { createBody, patchBody };
