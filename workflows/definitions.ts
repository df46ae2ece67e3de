import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RankedCandidate } from '../domain/assignment.js';
import type { BusinessCalendar } from '../domain/businessHours.js';
import type { LeadPlanState, PlannedStep } from '../domain/planner.js';
import type { PolicyRules } from '../domain/policy.js';
import type { ClosedLeadStatus, LeadStatus } from '../domain/lead.js';

/** The one task queue name; the worker, the API and the tests share it unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'leads';

export interface LeadWorkflowInput {
  leadId: string;
  /** State handed over by continue-as-new; absent on a lead's first run. */
  carried?: CarriedLeadState;
  /** Continue-as-new after this many history events (tests lower it). */
  historyLimit?: number;
}

/** Everything a lead's workflow knows that is not in Postgres, carried across continue-as-new. */
export interface CarriedLeadState extends LeadPlanState {
  status: LeadStatus;
  assigneeId: string | null;
  assigneeEmail: string | null;
  escalationLevel: number;
  policyVersion: number;
  /** Everyone who has had the lead; a reassignment skips them. */
  hadLead: string[];
  pause: PauseState | null;
  lastAssignment: AssignmentDecision | null;
  managerToldQueued: boolean;
  /** Counts that keep idempotency keys unique across runs. */
  assignments: number;
  /** Signals taken in but not yet acted on when the run continued as new. */
  pendingReplies: InboundMessageInput[];
  pendingPolicyVersion: number | null;
  /** Notices to staff waiting for the recipient's working hours (key, whom, when). */
  notices: { key: string; kind: 'assignment' | 'remind_assignee' | 'notify_manager'; userId: string | null; at: number }[];
  /** The team's name and hours and the rules in force; null until a new lead's context has loaded. */
  setting: LeadSetting | null;
  /** When the first contact was logged, as its signal said; absent from runs begun before it was kept. */
  firstContactAt?: string;
}

export interface LeadSetting {
  teamName: string;
  calendar: BusinessCalendar;
  rules: PolicyRules;
}

export interface PauseState {
  reason: string;
  since: string;
}

export interface AssignmentDecision {
  assigneeId: string | null;
  assigneeEmail: string | null;
  strategy: string;
  /** Who was considered and why each person was or was not eligible. */
  candidates: RankedCandidate[];
  decidedAt: string;
  /** When nobody could take it: the earliest moment a clock makes someone eligible. */
  nextEligibleAt: string | null;
  /** Queued leads of the team this decision left room for; the workflow wakes them. */
  wake: string[];
  /**
   * Who had the lead when the step decided, kept with the decision so a retried step answers the same.
   * Decisions recorded before it existed lack it.
   */
  previousAssigneeId?: string | null;
}

export interface CloseResult {
  leadId: string;
  status: ClosedLeadStatus;
  closedAt: string;
  /** Queued leads of the team that the freed capacity may serve. */
  wake?: string[];
}

/** What the `explain` query answers: the lead's clocks as the workflow sees them. */
export interface LeadExplanation {
  leadId: string;
  status: LeadStatus;
  assigneeId: string | null;
  escalationLevel: number;
  policyVersion: number | null;
  phase: LeadPlanState['phase'];
  pause: PauseState | null;
  /** Every deadline the workflow is waiting on, soonest first, as ISO times (null while paused). */
  deadlines: ExplainedStep[];
  nextActionAt: string | null;
  lastAssignment: AssignmentDecision | null;
  /** The planner's input, so a draft policy can be simulated against this lead. */
  plan: LeadPlanState;
}

/** A planned step as JSON: each kind keeps its own fields. */
export type ExplainedStep = {
  [K in PlannedStep['kind']]: Omit<Extract<PlannedStep, { kind: K }>, 'at'> & { at: string | null };
}[PlannedStep['kind']];

export interface ContactedInput {
  byUserId: string;
  at: string;
}

export interface ConvertInput {
  byUserId: string;
  value?: number;
  notes?: string;
}

export interface LoseInput {
  byUserId: string;
  reason: string;
}

export interface ReassignInput {
  byUserId: string;
  assigneeId: string;
}

export interface PauseInput {
  byUserId: string | null;
  reason: string;
}

export interface InboundMessageInput {
  /** The inbound Message (or, for `form`, the intake request) it came as; keys the reply task. */
  messageId: string;
  /** `form`: the lead filled in a website form again and was merged into this lead. */
  channel: 'sms' | 'email' | 'form';
}

export const contactedSignal = defineSignal<[ContactedInput]>('contacted');
/** The clocks stop (waiting on the customer); recorded on the lead by whoever paused. */
export const pauseSignal = defineSignal<[PauseInput]>('pause');
export const resumeSignal = defineSignal<[{ byUserId: string | null }]>('resume');
/** The lead wrote back: outreach pauses and the assignee gets a reply task. */
export const inboundMessageSignal = defineSignal<[InboundMessageInput]>('inboundMessage');
/** A new policy version was saved; it applies from the lead's next step. */
export const policyChangedSignal = defineSignal<[{ version: number }]>('policyChanged');
/** Someone in the team may have become eligible; a queued lead asks again. */
export const assignmentOpportunitySignal = defineSignal('assignmentOpportunity');
/** Contact details changed; the lead's timezone decides its quiet hours. */
export const leadUpdatedSignal = defineSignal<[{ timezone: string }]>('leadUpdated');
export const reassignUpdate = defineUpdate<AssignmentDecision, [ReassignInput]>('reassign');
export const explainQuery = defineQuery<LeadExplanation>('explain');
export const convertUpdate = defineUpdate<CloseResult, [ConvertInput]>('convert');
export const loseUpdate = defineUpdate<CloseResult, [LoseInput]>('lose');

/** Registered on the dev server at start (see scripts/temporal.ts) and upserted on every change. */
export const searchAttributes = {
  status: defineSearchAttributeKey('LeadStatus', SearchAttributeType.KEYWORD),
  assignee: defineSearchAttributeKey('LeadAssignee', SearchAttributeType.KEYWORD),
  team: defineSearchAttributeKey('LeadTeam', SearchAttributeType.KEYWORD),
  escalationLevel: defineSearchAttributeKey('EscalationLevel', SearchAttributeType.INT),
  nextActionAt: defineSearchAttributeKey('NextActionAt', SearchAttributeType.DATETIME),
} as const;

/** Error type names raised by activities that retrying cannot fix. */
export const nonRetryableErrors = {
  leadNotFound: 'LeadNotFound',
  leadAlreadyClosed: 'LeadAlreadyClosed',
  assigneeNotEligible: 'AssigneeNotEligible',
  teamHasNoPolicy: 'TeamHasNoPolicy',
} as const;
