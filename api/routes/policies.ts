import { LockMode, type EntityManager } from '@mikro-orm/core';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { PolicySubject } from '../../domain/ability.js';
import { leadWorkflowId, openLeadStatuses } from '../../domain/lead.js';
import { planLead, type PlannedStep } from '../../domain/planner.js';
import { policyRulesSchema, type PolicyRules } from '../../domain/policy.js';
import { LeadSchema, PolicySchema, PolicyVersionSchema, TeamSchema, type Policy, type PolicyVersion } from '../../db/entities.js';
import { explainQuery, policyChangedSignal, type LeadExplanation } from '../../workflows/definitions.js';
import { accessibleWhere } from '../accessible.js';
import { requireAuth, type Auth } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';

const idParam = z.object({ id: z.uuid() });
const saveBody = z.strictObject({ rules: policyRulesSchema });
const createBody = z.strictObject({ teamId: z.uuid(), name: z.string().trim().min(1).max(100), rules: policyRulesSchema });

/** How many open leads a simulation looks at; the answer says when there were more. */
const SIMULATION_LIMIT = 200;
/** Workflows asked at once while signalling or simulating. */
const FAN_OUT = 8;

const subject = (policy: Policy): PolicySubject => ({ kind: 'Policy', id: policy.id, team: policy.team.id });

async function currentVersion(em: EntityManager, policy: Policy): Promise<PolicyVersion> {
  return em.findOneOrFail(PolicyVersionSchema, { policy: policy.id, version: policy.currentVersion }, { populate: ['createdBy'] });
}

function versionView(version: PolicyVersion) {
  return {
    version: version.version,
    rules: version.rules,
    createdAt: version.createdAt,
    createdBy: version.createdBy ? { id: version.createdBy.id, name: version.createdBy.name } : null,
  };
}

async function policyView(em: EntityManager, policy: Policy) {
  return {
    id: policy.id,
    name: policy.name,
    team: { id: policy.team.id, name: policy.team.name },
    ...versionView(await currentVersion(em, policy)),
  };
}

/** Runs `work` over `items`, `FAN_OUT` at a time. */
async function fanOut<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += FAN_OUT) results.push(...(await Promise.all(items.slice(i, i + FAN_OUT).map(work))));
  return results;
}

const stepView = (step: PlannedStep) => ({ ...step, at: step.at === null ? null : new Date(step.at).toISOString() });

export function policyRoutes({ orm, temporal }: RouteDeps): Router {
  const router = Router();

  /** Loads a policy the caller may read, else 404. */
  async function readablePolicy(em: EntityManager, auth: Auth, req: Request): Promise<Policy> {
    const parsed = idParam.safeParse(req.params);
    if (!parsed.success) throw notFound('Policy');
    const policy = await em.findOne(PolicySchema, parsed.data.id, { populate: ['team'] });
    if (!policy || auth.ability.cannot('read', subject(policy))) throw notFound('Policy');
    return policy;
  }

  function ensureCan(auth: Auth, policy: Policy) {
    if (auth.ability.cannot('update', subject(policy))) throw new AppError(403, 'forbidden', 'You may not change this policy');
  }

  router.get('/policies', async (req, res) => {
    const auth = requireAuth(req);
    const readable = accessibleWhere(auth.ability, 'read', 'Policy');
    const policies = readable ? await orm.em.find(PolicySchema, readable, { populate: ['team'], orderBy: { team: { name: 'asc' } } }) : [];
    res.json({ items: await Promise.all(policies.map((policy) => policyView(orm.em, policy))) });
  });

  router.get('/policies/:id', async (req, res) => {
    const policy = await readablePolicy(orm.em, requireAuth(req), req);
    res.json({ policy: await policyView(orm.em, policy) });
  });

  router.get('/policies/:id/versions', async (req, res) => {
    const policy = await readablePolicy(orm.em, requireAuth(req), req);
    const versions = await orm.em.find(PolicyVersionSchema, { policy: policy.id }, { populate: ['createdBy'], orderBy: { version: 'desc' } });
    res.json({ items: versions.map(versionView) });
  });

  router.post('/policies', async (req, res) => {
    const auth = requireAuth(req);
    // Nobody without some right to create policies learns anything from the body's validation.
    if (auth.ability.cannot('create', 'Policy')) throw new AppError(403, 'forbidden', 'You may not create policies');
    const body = createBody.parse(req.body);
    const team = await orm.em.findOne(TeamSchema, body.teamId);
    if (!team) throw new AppError(400, 'validation_failed', 'Invalid input: teamId', [{ path: 'teamId', message: 'no such team' }]);
    if (auth.ability.cannot('create', { kind: 'Policy', id: '', team: team.id })) throw new AppError(403, 'forbidden', 'You may not create policies for this team');
    if (team.policy) throw new AppError(409, 'policy_exists', `Team ${team.name} already has a policy; save a new version of it instead`, { policyId: team.policy.id });
    const policy = await orm.em.transactional(async (em) => {
      const policy = em.create(PolicySchema, { team: team.id, name: body.name, currentVersion: 1 });
      em.create(PolicyVersionSchema, { policy, version: 1, rules: body.rules, createdBy: auth.user });
      (await em.findOneOrFail(TeamSchema, team.id)).policy = policy;
      return policy;
    });
    res.status(201).json({ policy: await policyView(orm.em, await orm.em.findOneOrFail(PolicySchema, policy.id, { populate: ['team'] })) });
  });

  /**
   * Saves the rules as a new immutable version and tells every open lead of the team, whose
   * workflows take it up at their next step. A lead not told now (Temporal down) takes it up at its
   * next continue-as-new, which always reads the newest version.
   */
  router.put('/policies/:id', async (req, res) => {
    const auth = requireAuth(req);
    const policy = await readablePolicy(orm.em, auth, req);
    ensureCan(auth, policy);
    const { rules } = saveBody.parse(req.body);
    const version = await orm.em.transactional(async (em) => {
      // The row lock makes two saves at once get consecutive versions.
      const locked = await em.findOneOrFail(PolicySchema, policy.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      locked.currentVersion += 1;
      em.create(PolicyVersionSchema, { policy: locked, version: locked.currentVersion, rules, createdBy: auth.user });
      return locked.currentVersion;
    });
    const open = await orm.em.find(LeadSchema, { team: policy.team.id, status: { $in: [...openLeadStatuses] } }, { fields: ['id'] });
    const told = await fanOut(open, (lead) =>
      temporal.workflow
        .getHandle(leadWorkflowId(lead.id))
        .signal(policyChangedSignal, { version })
        .then(() => true, () => false),
    );
    res.json({ policy: await policyView(orm.em, await orm.em.findOneOrFail(PolicySchema, policy.id, { populate: ['team'], refresh: true })), leadsTold: told.filter(Boolean).length, openLeads: open.length });
  });

  /**
   * What a draft would do to the team's open leads: each lead's pending steps under the current
   * version and under the draft, planned by the same `planLead` the workflows run, from the clock
   * state each workflow reports.
   */
  router.post('/policies/:id/simulate', async (req, res) => {
    const auth = requireAuth(req);
    const policy = await readablePolicy(orm.em, auth, req);
    ensureCan(auth, policy);
    const { rules: draft } = saveBody.parse(req.body);
    const current = (await currentVersion(orm.em, policy)).rules;
    const team = policy.team;
    const calendar = { timezone: team.timezone, ...team.businessHours };
    const [leads, total] = await orm.em.findAndCount(
      LeadSchema,
      { team: team.id, status: { $in: [...openLeadStatuses] } },
      { populate: ['assignee'], orderBy: { createdAt: 'asc' }, limit: SIMULATION_LIMIT },
    );
    const now = Date.now();
    const items = await fanOut(leads, async (lead) => {
      const explain: LeadExplanation | null = await temporal.workflow
        .getHandle(leadWorkflowId(lead.id))
        .query(explainQuery)
        .catch(() => null);
      const view = { id: lead.id, name: lead.name, status: lead.status, assignee: lead.assignee ? { id: lead.assignee.id, name: lead.assignee.name } : null };
      if (!explain) return { lead: view, available: false as const };
      const plan = (rules: PolicyRules) => planLead(explain.plan, rules, calendar, now);
      const before = plan(current);
      const after = plan(draft);
      const nextBefore = before.next?.at ?? null;
      const nextAfter = after.next?.at ?? null;
      return {
        lead: view,
        available: true as const,
        current: { next: before.next && stepView(before.next), deadlines: before.deadlines.map(stepView) },
        draft: { next: after.next && stepView(after.next), deadlines: after.deadlines.map(stepView) },
        /** Minutes the next action moves (negative: sooner); null when either side has none or is paused. */
        nextShiftMinutes: nextBefore !== null && nextAfter !== null ? Math.round((nextAfter - nextBefore) / 60_000) : null,
        dueImmediately: nextAfter !== null && nextAfter <= now && (nextBefore === null || nextBefore > now),
      };
    });
    const compared = items.filter((item) => item.available);
    res.json({
      policyId: policy.id,
      currentVersion: policy.currentVersion,
      simulatedAt: new Date(now).toISOString(),
      openLeads: total,
      truncated: total > leads.length,
      summary: {
        sooner: compared.filter((item) => (item.nextShiftMinutes ?? 0) < 0).length,
        later: compared.filter((item) => (item.nextShiftMinutes ?? 0) > 0).length,
        dueImmediately: compared.filter((item) => item.dueImmediately).length,
        unavailable: items.length - compared.length,
      },
      items,
    });
  });

  return router;
}

/** The request schemas of these routes, for the OpenAPI document. */
export const policySchemas = { createBody, saveBody };
