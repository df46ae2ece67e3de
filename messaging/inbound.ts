import { LockMode, UniqueConstraintViolationException, type EntityManager, type MikroORM } from '@mikro-orm/core';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { leadWorkflowId, openLeadStatuses } from '../domain/lead.js';
import { LeadSchema, MessageSchema, ProcessedWebhookSchema, type Lead, type Message, type ProcessedWebhook } from '../db/entities.js';
import { recordLeadEvent } from '../db/timeline.js';
import { inboundMessageSignal } from '../workflows/definitions.js';
import { recordOptIn, recordOptOut, smsKeyword, type SmsKeyword } from './optOuts.js';

/**
 * What provider webhooks do once their signature has been checked. Each delivery is one transaction
 * that first records the event's id; a redelivery finds it and changes nothing.
 */

/** Writes the event's id now (so a concurrent duplicate waits on it); false when it was seen before. */
async function firstDelivery(em: EntityManager, provider: ProcessedWebhook['provider'], eventId: string): Promise<boolean> {
  if (await em.findOne(ProcessedWebhookSchema, { provider, eventId })) return false;
  em.create(ProcessedWebhookSchema, { provider, eventId });
  await em.flush();
  return true;
}

/** Runs `apply` once per event id; a duplicate (also one racing in at the same moment) is skipped. */
async function once<T>(orm: MikroORM, provider: ProcessedWebhook['provider'], eventId: string, apply: (em: EntityManager) => Promise<T>): Promise<T | null> {
  try {
    return await orm.em.fork().transactional(async (em) => ((await firstDelivery(em, provider, eventId)) ? apply(em) : null));
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) return null;
    throw error;
  }
}

export interface InboundSms {
  sid: string;
  from: string;
  to: string;
  body: string;
}

/**
 * A text from a phone: an inbound Message (status `received`) on the open lead with that phone, or on
 * no lead. STOP and START words change the opt-out of every lead with that phone; any other text is a
 * reply, signalled to the lead's workflow (outreach pauses, the assignee gets a reply task). The
 * workflow is signalled before the commit, as contacts are: a reply the workflow missed is never recorded.
 */
export async function receiveSms(orm: MikroORM, temporal: Client, sms: InboundSms): Promise<{ keyword: SmsKeyword | null }> {
  const keyword = smsKeyword(sms.body);
  await once(orm, 'twilio', `sms:${sms.sid}`, async (em) => {
    const lead = await em.findOne(LeadSchema, { phone: sms.from, status: { $in: [...openLeadStatuses] } });
    const message = em.create(MessageSchema, {
      lead,
      channel: 'sms',
      direction: 'inbound',
      to: sms.to,
      from: sms.from,
      body: sms.body,
      providerId: sms.sid,
      status: 'received',
      idempotencyKey: `twilio:${sms.sid}`,
    });
    if (lead) recordLeadEvent(em, lead, { type: 'message_received', actorKind: 'system', data: { messageId: message.id, channel: 'sms', from: sms.from, ...(keyword ? { keyword } : {}) } });
    if (keyword === 'stop') await recordOptOut(em, 'sms', sms.from, 'stop_keyword', { messageId: message.id });
    if (keyword === 'start') await recordOptIn(em, 'sms', sms.from, { messageId: message.id });
    await em.flush();
    if (lead && !keyword) {
      try {
        await temporal.workflow.getHandle(leadWorkflowId(lead.id)).signal(inboundMessageSignal, { messageId: message.id, channel: 'sms' });
      } catch (error) {
        // The lead closed in the meantime: the text stays on its record.
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }
  });
  return { keyword };
}

/** Delivery states only move forward; a late "sent" does not undo "delivered". */
function markDelivered(em: EntityManager, message: Message, lead: Lead | null, providerId: string | null, data: Record<string, unknown>) {
  message.providerId ??= providerId;
  if (message.status === 'delivered' || message.status === 'suppressed' || message.status === 'received') return;
  message.status = 'delivered';
  message.error = null;
  if (lead) recordLeadEvent(em, lead, { type: 'message_delivered', actorKind: 'system', data: { messageId: message.id, channel: message.channel, to: message.to, ...data } });
}

function markFailed(em: EntityManager, message: Message, lead: Lead | null, error: string, data: Record<string, unknown>) {
  if (message.status !== 'queued' && message.status !== 'sent') return;
  message.status = 'failed';
  message.error = error;
  message.sendStartedAt = null;
  if (lead) recordLeadEvent(em, lead, { type: 'message_failed', actorKind: 'system', data: { messageId: message.id, channel: message.channel, to: message.to, error, ...data } });
}

async function lockedMessage(em: EntityManager, where: { id: string } | { providerId: string }) {
  const message = await em.findOne(MessageSchema, { ...where, direction: 'outbound' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  const lead = message?.lead ? await em.findOneOrFail(LeadSchema, message.lead.id) : null;
  return { message, lead };
}

export interface SmsStatus {
  sid: string;
  status: string;
  /** Our Message id, from the callback URL. */
  messageId: string | null;
  errorCode: string | null;
}

const TWILIO_UNSUBSCRIBED = '21610';

/** Twilio's status callback: delivered, or failed with its error code. Other states change nothing. */
export async function applySmsStatus(orm: MikroORM, update: SmsStatus): Promise<void> {
  await once(orm, 'twilio', `status:${update.sid}:${update.status}`, async (em) => {
    const { message, lead } = await lockedMessage(em, update.messageId ? { id: update.messageId } : { providerId: update.sid });
    if (!message) return;
    if (update.status === 'delivered') markDelivered(em, message, lead, update.sid, {});
    if (update.status === 'failed' || update.status === 'undelivered') {
      markFailed(em, message, lead, `Twilio ${update.errorCode ?? update.status}: ${update.status}`, { errorCode: update.errorCode });
      if (update.errorCode === TWILIO_UNSUBSCRIBED) await recordOptOut(em, 'sms', message.to, 'stop_keyword', { messageId: message.id });
    }
  });
}

export interface EmailEvent {
  eventId: string;
  event: string;
  email: string;
  /** Our Message id, from the custom args the email was sent with. */
  messageId: string | null;
  /** SendGrid's id: the X-Message-Id it answered with, a dot, then a suffix of its own. */
  sgMessageId: string | null;
  reason: string | null;
}

/** One SendGrid event: delivery states for the message, opt-outs for the address. Others are ignored. */
export async function applyEmailEvent(orm: MikroORM, event: EmailEvent): Promise<void> {
  await once(orm, 'sendgrid', event.eventId, async (em) => {
    const providerId = event.sgMessageId?.split('.')[0] ?? null;
    const where = event.messageId ? { id: event.messageId } : providerId ? { providerId } : null;
    const { message, lead } = where ? await lockedMessage(em, where) : { message: null, lead: null };
    switch (event.event) {
      case 'processed':
        // SendGrid took it: a send whose answer we never got was sent after all.
        if (message?.status === 'queued') {
          message.status = 'sent';
          message.providerId ??= providerId;
          message.sendStartedAt = null;
        }
        break;
      case 'delivered':
        if (message) {
          // Also corrects an email recorded as failed because an interrupted attempt could not tell.
          if (message.status === 'failed') message.status = 'sent';
          markDelivered(em, message, lead, providerId, {});
        }
        break;
      case 'bounce':
      case 'dropped':
        if (message) markFailed(em, message, lead, `SendGrid ${event.event}: ${event.reason ?? 'no reason given'}`, {});
        break;
      case 'spamreport':
      case 'unsubscribe':
      case 'group_unsubscribe':
        await recordOptOut(em, 'email', event.email, 'unsubscribe', { event: event.event, ...(message ? { messageId: message.id } : {}) });
        break;
    }
  });
}

/** A one-click unsubscribe from an email's link or its List-Unsubscribe header. */
export async function unsubscribeEmail(orm: MikroORM, email: string): Promise<void> {
  await orm.em.fork().transactional((em) => recordOptOut(em, 'email', email, 'unsubscribe', { via: 'link' }));
}
