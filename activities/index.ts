import type { MikroORM } from '@mikro-orm/core';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BusinessCalendar } from '../domain/businessHours.js';
import { isClosed, raisedPriority, type ClosedLeadStatus, type TaskKind } from '../domain/lead.js';
import { earliest, escalationBreached } from '../domain/escalation.js';
import type { EscalationAction, PolicySnapshot } from '../domain/policy.js';
import { LeadSchema, PolicyVersionSchema, TaskSchema, UserSchema, type Lead } from '../db/entities.js';
import { findReceipt, recordLeadEvent } from '../db/timeline.js';
import { readConfig } from '../config.js';
import { providerSettings, type ProviderSettings } from '../messaging/settings.js';
import { leadTimezone } from '../messaging/timezone.js';
import { nonRetryableErrors, type CloseResult } from '../workflows/definitions.js';
import { assignmentActivities } from './assignment.js';
import { loadLead, lockLead, type StepInput } from './common.js';
import { messageActivities } from './messages.js';

export interface ActivityDeps {
  orm: MikroORM;
  /** Twilio and SendGrid; by default as configured in the environment (sandboxed where nothing is). */
  providers?: ProviderSettings;
}

export interface LeadContext {
  teamName: string;
  calendar: BusinessCalendar;
  /** Where quiet hours count: the lead's own timezone, else its phone number's country's, else the team's. */
  timezone: string;
  status: Lead['status'];
  assigneeId: string | null;
  assigneeEmail: string | null;
  escalationLevel: number;
  firstContactAt: string | null;
  policy: PolicySnapshot;
}

export interface CreateTaskInput extends StepInput {
  kind: TaskKind;
  title: string;
  dueAt: string;
}

export interface EscalateInput extends StepInput {
  step: number;
  action: EscalationAction;
  /** The step's deadline (ISO). Absent from runs begun before the deadline decided. */
  dueAt?: string;
  /** When the first contact was logged, as the workflow heard of it before it got to this step. */
  contactAt?: string;
}

export interface EscalationResult {
  escalationLevel: number;
  /** No breach: the lead was contacted by the deadline (or closed before the step ran). */
  skipped: boolean;
  /** A breach recorded after the contact: its reminder, alert or reassignment is not carried out. */
  late: boolean;
}

export interface CloseInput extends StepInput {
  status: ClosedLeadStatus;
  byUserId: string | null;
  value?: number;
  notes?: string;
  reason?: string;
}

/** Attempts (1 s, 2 s, 4 s apart) that a new lead's first activity waits for the API's transaction to commit. */
const LEAD_COMMIT_ATTEMPTS = 4;

async function currentPolicy(em: Parameters<typeof loadLead>[0], lead: Lead, version?: number): Promise<PolicySnapshot> {
  const policyRef = lead.team.policy;
  if (!policyRef) throw ApplicationFailure.nonRetryable(`Team ${lead.team.name} has no policy`, nonRetryableErrors.teamHasNoPolicy);
  const row = await em.findOneOrFail(
    PolicyVersionSchema,
    version === undefined ? { policy: policyRef.id } : { policy: policyRef.id, version },
    { orderBy: { version: 'desc' } },
  );
  return { policyId: policyRef.id, version: row.version, rules: row.rules };
}

/** The lead workflow's activities. Each one is a single transaction and idempotent by its step key. */
export function createActivities({ orm, providers = providerSettings(readConfig()) }: ActivityDeps) {
  return {
    ...assignmentActivities(orm),
    ...messageActivities(orm, providers),

    async loadLeadContext({ leadId }: { leadId: string }): Promise<LeadContext> {
      const em = orm.em.fork();
      const lead = await loadLead(em, leadId).catch((error: unknown) => {
        // The API starts a lead's workflow inside the transaction that writes the lead, so under load this can
        // run a moment before that commits: a missing lead is retried a few times before it counts as gone.
        const missing = error instanceof ApplicationFailure && error.type === nonRetryableErrors.leadNotFound;
        if (missing && Context.current().info.attempt < LEAD_COMMIT_ATTEMPTS) throw ApplicationFailure.retryable(error.message, 'LeadNotCommittedYet');
        throw error;
      });
      const team = lead.team;
      return {
        teamName: team.name,
        calendar: { timezone: team.timezone, ...team.businessHours },
        timezone: leadTimezone(lead),
        status: lead.status,
        assigneeId: lead.assignee?.id ?? null,
        assigneeEmail: lead.assignee?.email ?? null,
        escalationLevel: lead.escalationLevel,
        firstContactAt: lead.firstContactAt?.toISOString() ?? null,
        policy: await currentPolicy(em, lead),
      };
    },

    /** Takes up a newly saved policy version from the lead's next step; the timeline says so once. */
    async applyPolicyVersion(input: StepInput): Promise<PolicySnapshot> {
      return orm.em.fork().transactional(async (em) => {
        const lead = await loadLead(em, input.leadId);
        const policy = await currentPolicy(em, lead, input.policyVersion);
        if (!(await findReceipt(em, input.key))) {
          recordLeadEvent(em, lead, { type: 'policy_applied', data: { version: policy.version }, policyVersion: policy.version, idempotencyKey: input.key });
        }
        return policy;
      });
    },

    /**
     * Puts the first contact the workflow acted on on the lead's record. The API signals a contact
     * before it commits it, so a commit that failed after the signal went through would leave the lead
     * in its cadence with no contact on record. Usually that commit got there first (this waits for it
     * on the row lock) and nothing changes.
     */
    async recordFirstContact(input: StepInput & { byUserId: string; at: string }): Promise<{ recorded: boolean }> {
      return orm.em.fork().transactional(async (em) => {
        if (await findReceipt(em, input.key)) return { recorded: true };
        const lead = await lockLead(em, input.leadId);
        if (lead.firstContactAt) return { recorded: false };
        const at = new Date(input.at);
        lead.firstContactAt = at;
        if (lead.status === 'new' || lead.status === 'assigned') lead.status = 'contacted';
        lead.queuedAt = null;
        for (const task of await em.find(TaskSchema, { lead: lead.id, kind: 'first_contact', status: 'open' })) {
          Object.assign(task, { status: 'done', outcome: 'Contacted', completedAt: at });
        }
        const actor = await em.findOne(UserSchema, input.byUserId);
        recordLeadEvent(em, lead, { type: 'contacted', actor, data: { first: true, at: input.at, recordedBy: 'workflow' }, policyVersion: input.policyVersion, idempotencyKey: input.key });
        return { recorded: true };
      });
    },

    /** Marks the lead paused because it wrote back; a person resumes it. */
    async pauseForReply(input: StepInput & { messageId: string }): Promise<void> {
      await orm.em.fork().transactional(async (em) => {
        if (await findReceipt(em, input.key)) return;
        const lead = await loadLead(em, input.leadId);
        lead.pausedAt ??= new Date();
        lead.pauseReason = 'lead replied';
        recordLeadEvent(em, lead, { type: 'paused', data: { reason: 'lead replied', messageId: input.messageId }, policyVersion: input.policyVersion, idempotencyKey: input.key });
      });
    },

    async createTask(input: CreateTaskInput): Promise<{ taskId: string }> {
      return orm.em.fork().transactional(async (em) => {
        const existing = await em.findOne(TaskSchema, { idempotencyKey: input.key });
        if (existing) return { taskId: existing.id };
        const lead = await lockLead(em, input.leadId);
        const task = em.create(TaskSchema, {
          lead,
          team: lead.team,
          assignee: lead.assignee ?? null,
          kind: input.kind,
          title: input.title,
          dueAt: new Date(input.dueAt),
          idempotencyKey: input.key,
          // A step in flight (or retried after its worker died) can land after the lead closed, which
          // cancelled the lead's open tasks: a task made after that is cancelled from the start.
          status: isClosed(lead.status) ? 'cancelled' : 'open',
        });
        if (input.kind === 'first_contact') lead.firstContactDueAt ??= task.dueAt;
        recordLeadEvent(em, lead, {
          type: 'task_created',
          data: { taskId: task.id, kind: input.kind, title: input.title, dueAt: input.dueAt },
          policyVersion: input.policyVersion,
        });
        return { taskId: task.id };
      });
    },

    /**
     * Records one escalation step: the breach (level and timeline) and, for a step that runs before
     * anyone knew of a contact, what it does on the record (priority, the manager's task). The
     * workflow sends the notice or makes the reassignment after it, unless the answer says `late`.
     *
     * With `dueAt`, the deadline decides (domain/escalation.ts): a contact logged by the deadline means no
     * breach; a contact logged after it (`contactAt`, or on the row) means a breach recorded as late,
     * whose action is pointless now. Steps of runs begun before that rule (no `dueAt`) are skipped
     * once the lead has any contact on record, as they always were.
     */
    async escalateLead(input: EscalateInput): Promise<EscalationResult> {
      return orm.em.fork().transactional(async (em) => {
        const receipt = await findReceipt(em, input.key);
        // A receipt stands as recorded: an attempt cut off after it committed decided this step.
        if (receipt) return { escalationLevel: Number(receipt.data.level), skipped: Boolean(receipt.data.skipped), late: Boolean(receipt.data.late) };
        const lead = await lockLead(em, input.leadId);
        const contactAt = earliest(input.contactAt, lead.firstContactAt?.toISOString());
        const breached = input.dueAt === undefined ? !contactAt : escalationBreached(input.dueAt, contactAt);
        // Closing can race a deadline too; only a contact that came after it makes a closed lead's step count.
        if (!breached || (isClosed(lead.status) && !input.contactAt)) {
          recordLeadEvent(em, lead, {
            type: 'escalation_skipped',
            data: { step: input.step, action: input.action, level: lead.escalationLevel, skipped: true },
            policyVersion: input.policyVersion,
            idempotencyKey: input.key,
          });
          return { escalationLevel: lead.escalationLevel, skipped: true, late: false };
        }
        lead.escalationLevel += 1;
        const late = contactAt !== null;
        const data: Record<string, unknown> = { step: input.step, action: input.action, level: lead.escalationLevel };
        if (input.dueAt) data.dueAt = input.dueAt;
        if (late) Object.assign(data, { late: true, contactAt });
        else if (input.action === 'raise_priority') {
          data.priority = { from: lead.priority, to: raisedPriority(lead.priority) };
          lead.priority = raisedPriority(lead.priority);
        } else if (input.action === 'notify_manager') {
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
        return { escalationLevel: lead.escalationLevel, skipped: false, late };
      });
    },

    /** Raises the escalation level after a reassignment step (the assignment itself is `assignLead`). */
    async raiseEscalationLevel(input: StepInput): Promise<{ escalationLevel: number }> {
      return orm.em.fork().transactional(async (em) => {
        const receipt = await findReceipt(em, input.key);
        if (receipt) return { escalationLevel: Number(receipt.data.level) };
        const lead = await loadLead(em, input.leadId);
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
        const lead = await lockLead(em, input.leadId);
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
        lead.queuedAt = null;
        lead.pausedAt = null;
        lead.pauseReason = null;
        const open = await em.find(TaskSchema, { lead: lead.id, status: 'open' });
        for (const task of open) task.status = 'cancelled';
        // The capacity this lead held may serve the first lead waiting in the team's queue.
        const next = lead.assignee
          ? await em.findOne(LeadSchema, { team: lead.team.id, queuedAt: { $ne: null }, id: { $ne: lead.id } }, { orderBy: { queuedAt: 'asc', id: 'asc' } })
          : null;
        const result: CloseResult = { leadId: lead.id, status: input.status, closedAt: now.toISOString(), wake: next ? [next.id] : [] };
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
