import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RankedCandidate } from '../domain/assignment.js';
import type { Deadline } from '../domain/escalation.js';
import type { ClosedLeadStatus, LeadStatus } from '../domain/lead.js';

/** The one task queue name; the worker, the API and the tests share it unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'leads';

export interface LeadWorkflowInput {
  leadId: string;
}

export interface AssignmentDecision {
  assigneeId: string | null;
  assigneeEmail: string | null;
  strategy: string;
  /** Who was considered and why each person was or was not eligible. */
  candidates: RankedCandidate[];
  decidedAt: string;
}

export interface CloseResult {
  leadId: string;
  status: ClosedLeadStatus;
  closedAt: string;
}

/** What the `explain` query answers: the lead's clocks as the workflow sees them. */
export interface LeadExplanation {
  leadId: string;
  status: LeadStatus;
  assigneeId: string | null;
  escalationLevel: number;
  policyVersion: number | null;
  /** Every deadline the workflow is waiting on, soonest first, as ISO times. */
  deadlines: (Omit<Deadline, 'at'> & { at: string })[];
  nextActionAt: string | null;
  lastAssignment: AssignmentDecision | null;
}

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

export const contactedSignal = defineSignal<[ContactedInput]>('contacted');
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
} as const;
