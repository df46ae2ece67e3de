import { LockMode, type EntityManager, type MikroORM } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import { pickAssignee, type AssignmentPerson } from '../domain/assignment.js';
import { isClosed, openLeadStatuses } from '../domain/lead.js';
import { LeadSchema, PolicyVersionSchema, TaskSchema, TeamSchema, UserSchema, type Lead, type Team, type User } from '../db/entities.js';
import { findReceipt, recordLeadEvent } from '../db/timeline.js';
import { nonRetryableErrors, type AssignmentDecision } from '../workflows/definitions.js';
import { loadLead, type StepInput } from './common.js';

export interface AssignInput extends StepInput {
  /** People who already had the lead; a reassignment skips them. */
  exclude: string[];
  reason: 'new_lead' | 'queue' | 'escalation' | 'manual';
  /** A manager's choice; skips the strategy but not the checks that the person can take leads. */
  assigneeId?: string;
  byUserId?: string;
}

async function openLeadCounts(em: SqlEntityManager, teamId: string): Promise<Map<string, number>> {
  // On the transaction's own connection: a pool connection could be held by a lead waiting for this team's lock.
  const rows: { assignee_id: string; open: string }[] = await em.execute(
    `select assignee_id, count(*) as open from lead where team_id = ? and assignee_id is not null and status in (?, ?, ?) group by assignee_id`,
    [teamId, ...openLeadStatuses],
  );
  return new Map(rows.map((row) => [row.assignee_id, Number(row.open)]));
}

function asPerson(user: User, team: Team, openLeads: number): AssignmentPerson {
  return {
    userId: user.id,
    name: user.name,
    active: user.active,
    capacity: user.capacity,
    openLeads,
    outOfOfficeFrom: user.outOfOfficeFrom ?? null,
    outOfOfficeUntil: user.outOfOfficeUntil ?? null,
    calendar: { timezone: team.timezone, ...(user.workingHours ?? team.businessHours) },
    weight: user.weight,
    rotationPass: user.rotationPass,
    lastAssignedAt: user.lastAssignedAt ?? null,
  };
}

/** The oldest queued leads of the team other than `leadId`, first in line first. */
function queuedLeads(em: EntityManager, teamId: string, leadId: string, limit: number): Promise<Lead[]> {
  return em.find(
    LeadSchema,
    { team: teamId, queuedAt: { $ne: null }, id: { $ne: leadId } },
    { orderBy: { queuedAt: 'asc', id: 'asc' }, limit },
  );
}

function isAhead(other: Lead, lead: Lead): boolean {
  if (!lead.queuedAt) return true;
  const a = other.queuedAt!.getTime();
  const b = lead.queuedAt.getTime();
  return a < b || (a === b && other.id < lead.id);
}

export function assignmentActivities(orm: MikroORM) {
  return {
    /**
     * Decides who takes the lead under a lock on the team row, so a team's leads are decided one at
     * a time. A lead without an assignee waits behind older queued leads of its team; whoever it
     * leaves room for is returned in `wake`. The decision, with every candidate and why each was or
     * was not eligible, is the timeline row that makes a retry return the same answer.
     */
    async assignLead(input: AssignInput): Promise<AssignmentDecision> {
      return orm.em.fork().transactional(async (em) => {
        const receipt = await findReceipt(em, input.key);
        if (receipt) return receipt.data.decision as AssignmentDecision;

        const lead = await loadLead(em, input.leadId);
        const team = await em.findOneOrFail(TeamSchema, lead.team.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        // Read again under the lead's row lock: a close that commits while this decides would otherwise be
        // overwritten by the assignment's write of the same row (the lead comes out assigned, not converted).
        await em.refresh(lead, { lockMode: LockMode.PESSIMISTIC_WRITE });
        const version = await em.findOneOrFail(PolicyVersionSchema, { policy: team.policy?.id ?? '', version: input.policyVersion });
        const rules = version.rules.assignment;
        const staff = await em.find(UserSchema, { team: team.id, role: 'staff' }, { orderBy: { name: 'asc' } });
        const counts = await openLeadCounts(em as SqlEntityManager, team.id);
        const people = staff.map((user) => asPerson(user, team, counts.get(user.id) ?? 0));
        const now = new Date();
        const actor = input.byUserId ? await em.findOne(UserSchema, input.byUserId) : null;

        const options = {
          strategy: rules.strategy,
          respectCapacity: rules.respectCapacity,
          respectWorkingHours: rules.respectWorkingHours,
          exclude: input.exclude,
          rotationPass: team.rotationPass,
          now,
        };
        let pick = pickAssignee(people, options);
        if (input.assigneeId) {
          const chosen = people.find((person) => person.userId === input.assigneeId);
          if (!chosen?.active) {
            throw ApplicationFailure.nonRetryable('That person is not an active member of the lead’s team', nonRetryableErrors.assigneeNotEligible);
          }
          // A manager's choice overrides capacity and shifts; the rotation still counts the lead.
          pick = pickAssignee([chosen], { ...options, respectCapacity: false, respectWorkingHours: false, exclude: [] });
          pick = { ...pick, candidates: [{ ...pick.candidates[0]!, reason: `chosen by ${actor?.name ?? 'a manager'}` }] };
        }

        const waitingAhead = !lead.assignee && !input.assigneeId ? (await queuedLeads(em, team.id, lead.id, 1)).filter((other) => isAhead(other, lead)) : [];
        const chosen = waitingAhead.length === 0 ? staff.find((user) => user.id === pick.chosen) : undefined;
        const decision: AssignmentDecision = {
          assigneeId: chosen?.id ?? null,
          assigneeEmail: chosen?.email ?? null,
          strategy: input.assigneeId ? 'manual' : rules.strategy,
          candidates: pick.candidates,
          decidedAt: now.toISOString(),
          nextEligibleAt: pick.nextEligibleAt?.toISOString() ?? null,
          wake: [],
          previousAssigneeId: lead.assignee?.id ?? null,
        };
        const base = { policyVersion: input.policyVersion, idempotencyKey: input.key, actor };

        if (isClosed(lead.status)) {
          recordLeadEvent(em, lead, { ...base, type: 'assignment_skipped', data: { reason: `lead is ${lead.status}`, decision } });
          return { ...decision, assigneeId: null, assigneeEmail: null };
        }
        if (!chosen || !pick.rotation) {
          if (lead.assignee) {
            // A reassignment nobody can take: the lead stays where it is.
            recordLeadEvent(em, lead, { ...base, type: 'reassignment_failed', data: { reason: 'nobody eligible', decision } });
            return decision;
          }
          const firstTime = !lead.queuedAt;
          lead.queuedAt ??= now;
          // Someone is free but older leads are first in line: make sure the head of the queue asks.
          if (waitingAhead[0] && pick.chosen) decision.wake = [waitingAhead[0].id];
          recordLeadEvent(em, lead, {
            ...base,
            type: firstTime ? 'queued' : 'still_queued',
            data: { reason: waitingAhead.length ? 'older leads are waiting' : 'nobody eligible', decision },
          });
          return decision;
        }

        const previous = lead.assignee?.id ?? null;
        chosen.rotationPass = pick.rotation.chosenPass;
        chosen.lastAssignedAt = now;
        team.rotationPass = Math.max(team.rotationPass, pick.rotation.teamPass);
        lead.assignee = chosen;
        lead.firstAssignedAt ??= now;
        lead.queuedAt = null;
        if (lead.status === 'new') lead.status = 'assigned';
        const openTasks = await em.find(TaskSchema, { lead: lead.id, status: 'open', kind: { $ne: 'escalation' } });
        for (const task of openTasks) task.assignee = chosen;
        // The next lead in line may fit in what is left, or in the capacity a reassignment freed.
        const othersEligible = pick.candidates.filter((candidate) => candidate.eligible).length > 1;
        const roomLeft = !rules.respectCapacity || (counts.get(chosen.id) ?? 0) + 1 < chosen.capacity;
        if (othersEligible || roomLeft || previous) decision.wake = (await queuedLeads(em, team.id, lead.id, 1)).map((next) => next.id);
        recordLeadEvent(em, lead, {
          ...base,
          type: previous ? 'reassigned' : 'assigned',
          data: { from: previous, to: chosen.id, reason: input.reason, decision },
        });
        return decision;
      });
    },

    /** Tells the team's manager, once per lead, that a lead is waiting because nobody can take it. */
    async notifyManagerQueued(input: StepInput): Promise<void> {
      await orm.em.fork().transactional(async (em) => {
        if (await findReceipt(em, input.key)) return;
        const lead = await loadLead(em, input.leadId);
        const manager = lead.team.manager ?? null;
        em.create(TaskSchema, {
          lead,
          team: lead.team,
          assignee: manager,
          kind: 'escalation',
          title: `${lead.name} is waiting: nobody in ${lead.team.name} can take it`,
          dueAt: new Date(),
          idempotencyKey: `${input.key}:task`,
        });
        recordLeadEvent(em, lead, {
          type: 'manager_notified',
          data: { managerId: manager?.id ?? null, reason: 'nobody eligible' },
          policyVersion: input.policyVersion,
          idempotencyKey: input.key,
        });
      });
    },
  };
}
