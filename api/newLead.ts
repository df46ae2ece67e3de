import type { EntityManager } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { leadWorkflowId, openLeadStatuses, priorities } from '../domain/lead.js';
import { LeadSchema, type Lead, type Team, type User } from '../db/entities.js';
import { recordLeadEvent } from '../db/timeline.js';
import type { leadWorkflow } from '../workflows/lead.js';
import { AppError } from './errors.js';
import { phoneNumber } from './phone.js';

/** The fields of a new lead, the same from the app and from a website form. */
export const leadFields = {
  name: z.string().trim().min(1).max(200),
  email: z.string().trim().toLowerCase().email().max(254).optional(),
  phone: phoneNumber.optional(),
  source: z.string().trim().min(1).max(100).default('manual'),
  priority: z.enum(priorities).default('normal'),
  value: z.number().nonnegative().max(9_999_999_999).optional(),
  notes: z.string().max(5_000).optional(),
};
export const contactRequired = { message: 'give an email or a phone number', path: ['email'] };
export type LeadFields = z.infer<z.ZodObject<typeof leadFields>>;

export function findOpenDuplicate(em: EntityManager, email?: string, phoneNumber?: string): Promise<Lead | null> {
  const keys = [...(email ? [{ email }] : []), ...(phoneNumber ? [{ phone: phoneNumber }] : [])];
  return em.findOne(LeadSchema, { $or: keys, status: { $in: [...openLeadStatuses] } });
}

export const duplicateLead = (existing: Lead | null) =>
  new AppError(409, 'duplicate_lead', 'An open lead with this email or phone already exists', { leadId: existing?.id });

/**
 * Writes the lead and its `created` event and starts workflow `lead-<id>`, all in the caller's
 * transaction: the workflow starts before commit, so if Temporal refuses, no lead is left without
 * one. Throws `UniqueConstraintViolationException` when an open duplicate wins a race.
 */
export async function createLead(
  em: EntityManager,
  temporal: Client,
  taskQueue: string,
  input: { fields: LeadFields; team: Team; actor: User | null; via: string },
): Promise<Lead> {
  const { fields, team, actor, via } = input;
  const lead = em.create(LeadSchema, { ...fields, email: fields.email ?? null, phone: fields.phone ?? null, team: team.id });
  recordLeadEvent(em, lead, { type: 'created', actor, actorKind: 'system', data: { source: lead.source, via } });
  await em.flush();
  await temporal.workflow.start<typeof leadWorkflow>('leadWorkflow', {
    workflowId: leadWorkflowId(lead.id),
    taskQueue,
    args: [{ leadId: lead.id }],
  });
  return lead;
}

