import { LockMode, type EntityManager, type MikroORM } from '@mikro-orm/core';
import { ApplicationFailure } from '@temporalio/common';
import { pickAssignee } from '../domain/assignment.js';
import type { BusinessCalendar } from '../domain/businessHours.js';
import { isClosed, openLeadStatuses, raisedPriority, type ClosedLeadStatus, type TaskKind } from '../domain/lead.js';
import type { EscalationAction, PolicySnapshot } from '../domain/policy.js';
import { LeadSchema, PolicyVersionSchema, TaskSchema, TeamSchema, UserSchema, type Lead } from '../db/entities.js';
import { findReceipt, recordLeadEvent } from '../db/timeline.js';
import { nonRetryableErrors, type AssignmentDecision, type CloseResult } from '../workflows/definitions.js';

export interface ActivityDeps {
  orm: MikroORM;
}

export interface LeadContext {
  teamName: string;
  calendar: BusinessCalendar;
  status: Lead['status'];
  assigneeId: string | null;
  escalationLevel: number;
  policy: PolicySnapshot;
}

interface StepInput {
  leadId: string;
  /** Derived from the workflow id and the step, so every retry of a step carries the same key. */
  key: string;
  policyVersion: number;
}

export interface AssignInput extends StepInput {
  exclude: string[];
  reason: 'new_lead' | 'retry' | 'escalation';
}

export interface CreateTaskInput extends StepInput {
  kind: TaskKind;
  title: string;
  dueAt: string;
}

export interface EscalateInput extends StepInput {
  step: number;
  action: Exclude<EscalationAction, 'reassign'>;
}

export interface CloseInput extends StepInput {
  status: ClosedLeadStatus;
  byUserId: string | null;
  value?: number;
  notes?: string;
  reason?: string;
}

async function loadOpenLead(em: EntityManager, leadId: string): Promise<Lead> {
  const lead = await em.findOne(LeadSchema, leadId, { populate: ['team'] });
  if (!lead) throw ApplicationFailure.nonRetryable(`Lead ${leadId} does not exist`, nonRetryableErrors.leadNotFound);
  return lead;
}

/** The lead workflow's activities. Each one is a single transaction and idempotent by its step key. */
export function createActivities({ orm }: ActivityDeps) {
  return {
    async loadLeadContext({ leadId }: { leadId: string }): Promise<LeadContext> {
      const em = orm.em.fork();
      const lead = await loadOpenLead(em, leadId);
      const team = lead.team;
      const policyRef = team.policy;
      if (!policyRef) throw ApplicationFailure.nonRetryable(`Team ${team.name} has no policy`, 'TeamHasNoPolicy');
      const policy = await em.findOneOrFail(PolicyVersionSchema, { policy: policyRef.id }, { orderBy: { version: 'desc' } });
      return {
        teamName: team.name,
        calendar: { timezone: team.timezone, ...team.businessHours },
        status: lead.status,
        assigneeId: lead.assignee?.id ?? null,
        escalationLevel: lead.escalationLevel,
        policy: { policyId: policyRef.id, version: policy.version, rules: policy.rules },
      };
    },

    /**
     * Picks the assignee under a lock on the team row, so two leads of one team are never decided
     * at once, writes the assignee, moves the lead's open tasks to them and records the decision.
     */
    async assignLead(input: AssignInput): Promise<AssignmentDecision> {
      return orm.em.fork().transactional(async (em) => {
        const receipt = await findReceipt(em, input.key);
        if (receipt) return receipt.data.decision as AssignmentDecision;

        const lead = await loadOpenLead(em, input.leadId);
        await em.findOneOrFail(TeamSchema, lead.team.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        const version = await em.findOneOrFail(PolicyVersionSchema, {
          policy: lead.team.policy?.id ?? '',
          version: input.policyVersion,
        });
        const rules = version.rules.assignment;
        const staff = await em.find(UserSchema, { team: lead.team.id, role: 'staff' }, { orderBy: { name: 'asc' } });
        const people = await Promise.all(
          staff.map(async (user) => ({
            userId: user.id,
            name: user.name,
            active: user.active,
            capacity: user.capacity,
            openLeads: await em.count(LeadSchema, { assignee: user.id, status: { $in: [...openLeadStatuses] } }),
            outOfOfficeFrom: user.outOfOfficeFrom ?? null,
            outOfOfficeUntil: user.outOfOfficeUntil ?? null,
            lastAssignedAt: user.lastAssignedAt ?? null,
          })),
        );
        const now = new Date();
        const pick = pickAssignee(people, {
          strategy: rules.strategy,
          respectCapacity: rules.respectCapacity,
          exclude: input.exclude,
          now,
        });
        const assignee = staff.find((user) => user.id === pick.chosen) ?? null;
        const decision: AssignmentDecision = {
          assigneeId: assignee?.id ?? null,
          assigneeEmail: assignee?.email ?? null,
          strategy: rules.strategy,
          candidates: pick.candidates,
          decidedAt: now.toISOString(),
        };

        if (assignee && !isClosed(lead.status)) {
          const previous = lead.assignee?.id ?? null;
          assignee.lastAssignedAt = now;
          lead.assignee = assignee;
          if (lead.status === 'new') lead.status = 'assigned';
          const openTasks = await em.find(TaskSchema, { lead: lead.id, status: 'open', kind: { $ne: 'escalation' } });
          for (const task of openTasks) task.assignee = assignee;
          recordLeadEvent(em, lead, {
            type: previous ? 'reassigned' : 'assigned',
            data: { from: previous, to: assignee.id, reason: input.reason, decision },
            policyVersion: input.policyVersion,
            idempotencyKey: input.key,
          });
        } else {
          recordLeadEvent(em, lead, {
            type: 'queued',
            data: { reason: isClosed(lead.status) ? 'lead closed' : 'nobody eligible', decision },
            policyVersion: input.policyVersion,
            idempotencyKey: input.key,
          });
        }
        return decision;
      });
    },

    async createTask(input: CreateTaskInput): Promise<{ taskId: string }> {
      return orm.em.fork().transactional(async (em) => {
        const existing = await em.findOne(TaskSchema, { idempotencyKey: input.key });
        if (existing) return { taskId: existing.id };
        const lead = await loadOpenLead(em, input.leadId);
        const task = em.create(TaskSchema, {
          lead,
          team: lead.team,
          assignee: lead.assignee ?? null,
          kind: input.kind,
          title: input.title,
          dueAt: new Date(input.dueAt),
          idempotencyKey: input.key,
        });
        recordLeadEvent(em, lead, {
          type: 'task_created',
          data: { taskId: task.id, kind: input.kind, title: input.title, dueAt: input.dueAt },
          policyVersion: input.policyVersion,
        });
        return { taskId: task.id };
      });
    },

    /** Runs one escalation step that is not a reassignment and raises the lead's escalation level. */
    async escalateLead(input: EscalateInput): Promise<{ escalationLevel: number; skipped: boolean }> {
      return orm.em.fork().transactional(async (em) => {
        const receipt = await findReceipt(em, input.key);
        if (receipt) return { escalationLevel: Number(receipt.data.level), skipped: Boolean(receipt.data.skipped) };
        const lead = await loadOpenLead(em, input.leadId);
        // Contact or closing can race a deadline; a lead that is no longer waiting is not escalated.
        if (lead.firstContactAt || isClosed(lead.status)) {
          recordLeadEvent(em, lead, {
            type: 'escalation_skipped',
            data: { step: input.step, action: input.action, level: lead.escalationLevel, skipped: true },
            policyVersion: input.policyVersion,
            idempotencyKey: input.key,
          });
          return { escalationLevel: lead.escalationLevel, skipped: true };
        }
        lead.escalationLevel += 1;
        const data: Record<string, unknown> = { step: input.step, action: input.action, level: lead.escalationLevel };
        if (input.action === 'raise_priority') {
          data.priority = { from: lead.priority, to: raisedPriority(lead.priority) };
          lead.priority = raisedPriority(lead.priority);
        }
        if (input.action === 'notify_manager') {
          const manager = lead.team.manager ?? null;
          data.managerId = manager?.id ?? null;
          em.create(TaskSchema, {
            lead,
            team: lead.team,
            assignee: manager,
            kind: 'escalation',
            title: `Lead ${lead.name} missed its first-contact SLA`,
            dueAt: new Date(),
            idempotencyKey: `${input.key}:task`,
          });
        }
        recordLeadEvent(em, lead, {
          type: 'escalated',
          data,
          policyVersion: input.policyVersion,
          idempotencyKey: input.key,
        });
        return { escalationLevel: lead.escalationLevel, skipped: false };
      });
    },

    /** Raises the escalation level after a reassignment step (the assignment itself is `assignLead`). */
    async raiseEscalationLevel(input: StepInput): Promise<{ escalationLevel: number }> {
      return orm.em.fork().transactional(async (em) => {
        const receipt = await findReceipt(em, input.key);
        if (receipt) return { escalationLevel: Number(receipt.data.level) };
        const lead = await loadOpenLead(em, input.leadId);
        lead.escalationLevel += 1;
        recordLeadEvent(em, lead, {
          type: 'escalated',
          data: { action: 'reassign', level: lead.escalationLevel },
          policyVersion: input.policyVersion,
          idempotencyKey: input.key,
        });
        return { escalationLevel: lead.escalationLevel };
      });
    },

    /** Makes the lead row final: closing status and time, open tasks cancelled, one timeline row. */
    async closeLead(input: CloseInput): Promise<CloseResult> {
      return orm.em.fork().transactional(async (em) => {
        const receipt = await findReceipt(em, input.key);
        if (receipt) return receipt.data.result as CloseResult;
        const lead = await loadOpenLead(em, input.leadId);
        if (isClosed(lead.status)) {
          throw ApplicationFailure.nonRetryable(`Lead is already ${lead.status}`, nonRetryableErrors.leadAlreadyClosed);
        }
        const actor = input.byUserId ? await em.findOne(UserSchema, input.byUserId) : null;
        const now = new Date();
        const from = lead.status;
        lead.status = input.status;
        if (input.status === 'converted') {
          lead.convertedAt = now;
          if (input.value !== undefined) lead.value = input.value;
        }
        if (input.status === 'lost') {
          lead.lostAt = now;
          lead.lostReason = input.reason ?? null;
        }
        const open = await em.find(TaskSchema, { lead: lead.id, status: 'open' });
        for (const task of open) task.status = 'cancelled';
        const result: CloseResult = { leadId: lead.id, status: input.status, closedAt: now.toISOString() };
        recordLeadEvent(em, lead, {
          type: input.status,
          actor,
          data: { from, to: input.status, value: input.value, notes: input.notes, reason: input.reason, cancelledTasks: open.length, result },
          policyVersion: input.policyVersion,
          idempotencyKey: input.key,
        });
        return result;
      });
    },
  };
}

export type LeadActivities = ReturnType<typeof createActivities>;
