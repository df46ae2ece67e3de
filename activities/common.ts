import { LockMode, type EntityManager } from '@mikro-orm/core';
import { ApplicationFailure } from '@temporalio/common';
import { LeadSchema, type Lead } from '../db/entities.js';
import { nonRetryableErrors } from '../workflows/definitions.js';

/** What every workflow step passes to its activity. */
export interface StepInput {
  leadId: string;
  /** Derived from the workflow id and the step, so every retry of a step carries the same key. */
  key: string;
  /** The policy version the decision was made under; the timeline shows it. */
  policyVersion: number;
}

export async function loadLead(em: EntityManager, leadId: string): Promise<Lead> {
  const lead = await em.findOne(LeadSchema, leadId, { populate: ['team', 'assignee'] });
  if (!lead) throw ApplicationFailure.nonRetryable(`Lead ${leadId} does not exist`, nonRetryableErrors.leadNotFound);
  return lead;
}

/**
 * The lead with its row locked until the transaction ends. A close (an update handler) runs beside
 * the step the workflow has in flight; taking turns on the row, the step sees the lead closed or the
 * close sees what the step wrote.
 */
export async function lockLead(em: EntityManager, leadId: string): Promise<Lead> {
  // Locked on its own: a lock on the joined query would lock the team and assignee rows too.
  await em.findOne(LeadSchema, leadId, { lockMode: LockMode.PESSIMISTIC_WRITE });
  return loadLead(em, leadId);
}
