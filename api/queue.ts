import type { EntityManager } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import { leadWorkflowId } from '../domain/lead.js';
import { LeadSchema } from '../db/entities.js';
import { assignmentOpportunitySignal } from '../workflows/definitions.js';

/**
 * Tells the head of a team's queue that someone may have become eligible (capacity raised, a person
 * activated or back from leave). Its workflow asks again under the team lock and, if it is assigned
 * and room is left, wakes the next one, so the queue drains in order.
 */
export async function wakeTeamQueue(em: EntityManager, temporal: Client, teamId: string): Promise<void> {
  const head = await em.findOne(LeadSchema, { team: teamId, queuedAt: { $ne: null } }, { orderBy: { queuedAt: 'asc', id: 'asc' } });
  if (!head) return;
  await temporal.workflow.getHandle(leadWorkflowId(head.id)).signal(assignmentOpportunitySignal);
}
