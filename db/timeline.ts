import type { EntityManager } from '@mikro-orm/core';
import { currentRequestId } from '../requestContext.js';
import { LeadEventSchema, type Lead, type LeadEvent, type User } from './entities.js';

export interface LeadEventInput {
  type: string;
  /** The user who acted; omitted when the workflow acted. */
  actor?: User | null;
  /** Who acted when it was not a user: the workflow (default) or the system (an intake form, a webhook). */
  actorKind?: 'workflow' | 'system';
  data?: Record<string, unknown>;
  policyVersion?: number | null;
  /** Set by workflow activities, so a retry finds the event instead of writing it again. */
  idempotencyKey?: string;
}

/** Adds one timeline row; it is written with the flush of the change it describes. */
export function recordLeadEvent(em: EntityManager, lead: Lead, input: LeadEventInput): LeadEvent {
  return em.create(LeadEventSchema, {
    lead,
    type: input.type,
    actor: input.actor ?? null,
    actorKind: input.actor ? 'user' : (input.actorKind ?? 'workflow'),
    data: input.data ?? {},
    policyVersion: input.policyVersion ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    requestId: currentRequestId() ?? null,
  });
}

/** The event a previous attempt of the same workflow step wrote, if it got that far. */
export function findReceipt(em: EntityManager, idempotencyKey: string): Promise<LeadEvent | null> {
  return em.findOne(LeadEventSchema, { idempotencyKey });
}
