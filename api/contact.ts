import type { EntityManager } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { contactChannels, isClosed, leadWorkflowId } from '../domain/lead.js';
import { TaskSchema, type Lead, type User } from '../db/entities.js';
import { recordLeadEvent } from '../db/timeline.js';
import { contactedSignal } from '../workflows/definitions.js';
import { AppError } from './errors.js';

export const contactBody = z.strictObject({
  channel: z.enum(contactChannels),
  outcome: z.string().trim().min(1).max(500),
  notes: z.string().max(5_000).optional(),
});
export type ContactBody = z.infer<typeof contactBody>;

export function ensureOpen(lead: Lead): void {
  if (isClosed(lead.status)) throw new AppError(409, 'lead_closed', `Lead is already ${lead.status}`);
}

/**
 * Logs a contact with the lead: the first one stops the SLA clock (its open first-contact task is
 * done with this outcome) and starts the cadence. Call it inside the caller's transaction: the
 * workflow is signalled before commit, so a contact Temporal was not told about is never recorded.
 */
export async function recordContact(em: EntityManager, temporal: Client, lead: Lead, user: User, body: ContactBody): Promise<void> {
  ensureOpen(lead);
  const first = !lead.firstContactAt;
  const now = new Date();
  if (first) lead.firstContactAt = now;
  if (lead.status === 'new' || lead.status === 'assigned') lead.status = 'contacted';
  lead.queuedAt = null;
  const tasks = await em.find(TaskSchema, { lead: lead.id, kind: 'first_contact', status: 'open' });
  for (const task of tasks) Object.assign(task, { status: 'done', outcome: body.outcome, completedAt: now });
  recordLeadEvent(em, lead, { type: 'contacted', actor: user, data: { ...body, first } });
  await em.flush();
  await temporal.workflow.getHandle(leadWorkflowId(lead.id)).signal(contactedSignal, { byUserId: user.id, at: now.toISOString() });
}
