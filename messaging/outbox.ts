import { LockMode, type EntityManager, type MikroORM } from '@mikro-orm/core';
import { ApplicationFailure } from '@temporalio/common';
import { LeadSchema, MessageSchema, type Lead, type Message } from '../db/entities.js';
import { recordLeadEvent } from '../db/timeline.js';
import { isOptedOut, recordOptOut } from './optOuts.js';
import { createProviders, ProviderRejected, type Outgoing, type Provider } from './providers.js';
import type { ProviderSettings } from './settings.js';
import type { Channel, NoticeKind } from './templates.js';
import { unsubscribeHeaders, unsubscribeUrl } from './unsubscribe.js';

/** A message to write before it is sent. */
export interface Draft {
  /** The workflow step's key (plus the channel for notices): a retry finds the row by it. */
  key: string;
  lead: Lead;
  channel: Channel;
  to: string;
  template: string;
  /** Empty for SMS. */
  subject: string;
  body: string;
}

/** Who a message is for and what the timeline should say about it. */
export interface SendContext {
  policyVersion: number;
  /** Set for a notice to a member of staff; unset for outreach to the lead. */
  recipientUserId?: string;
  notice?: NoticeKind;
}

export type DeliveryStatus = 'sent' | 'delivered' | 'suppressed' | 'failed';

export interface Delivery {
  messageId: string;
  channel: Channel;
  status: DeliveryStatus;
  error: string | null;
}

/** Raised for a failure a later attempt may get past; the activity's retry policy decides when. */
export const providerUnavailable = 'ProviderUnavailable';

const delivery = (message: Message): Delivery => ({
  messageId: message.id,
  channel: message.channel,
  status: message.status === 'queued' || message.status === 'received' ? 'failed' : message.status,
  error: message.error ?? null,
});

/**
 * Exactly-once sending, in effect, on top of at-least-once activities:
 *
 * 1. `queue` writes the Message row (status `queued`, unique idempotency key) and the caller commits
 *    it before anything is sent. A retry finds the row, and a row that is no longer queued is final.
 * 2. `deliver` claims the row under a row lock and stamps `sendStartedAt` (committed), calls the
 *    provider outside any transaction, and writes the outcome: `sent` with the provider's id, or
 *    `failed` with its error.
 * 3. A retry that finds `sendStartedAt` still set knows an earlier attempt handed the message over and
 *    never heard back (it crashed, or the connection dropped). Twilio has no idempotency key, so its
 *    message log is asked for that message (same recipient, sender and body, since the row was
 *    written); found, the row is finished with its SID and nothing is sent. SendGrid cannot be asked,
 *    so such an email is not sent again: the row ends `failed`, saying so, because a lost follow-up is
 *    visible on the lead and can be redone by hand, while a duplicate cannot be taken back. Its event
 *    webhook still corrects the row to delivered if the email did go out.
 *
 * The activity's start-to-close timeout is longer than a provider call may take, so two attempts never
 * have the same message in flight at once.
 */
export function createOutbox(orm: MikroORM, settings: ProviderSettings) {
  const providers = createProviders(settings);
  const providerFor = (channel: Channel): Provider => (channel === 'sms' ? providers.sms : providers.email);

  /** The provider-facing form of a row: emails are stored as subject, blank line, body. */
  function outgoing(message: Message, context: SendContext): Outgoing {
    const [subject, ...rest] = message.channel === 'email' ? message.body.split('\n\n') : ['', message.body];
    const unsubscribe = message.channel === 'email' && !context.recipientUserId;
    return {
      messageId: message.id,
      leadId: message.lead?.id ?? null,
      to: message.to,
      subject: subject ?? '',
      body: message.channel === 'email' ? rest.join('\n\n') : message.body,
      headers: unsubscribe ? unsubscribeHeaders(unsubscribeUrl(settings.publicUrl, settings.unsubscribeSecret, message.to)) : {},
    };
  }

  function eventData(message: Message, context: SendContext, extra: Record<string, unknown> = {}) {
    return {
      messageId: message.id,
      channel: message.channel,
      template: message.template,
      to: message.to,
      ...(context.recipientUserId ? { recipientId: context.recipientUserId, notice: context.notice } : {}),
      ...extra,
    };
  }

  /** Writes the outcome once; a webhook that got there first (delivered) keeps its word. */
  async function finish(messageId: string, context: SendContext, outcome: { providerId: string | null } | { error: string; optedOut?: boolean }): Promise<Delivery> {
    return orm.em.fork().transactional(async (em) => {
      const message = await em.findOneOrFail(MessageSchema, messageId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      message.sendStartedAt = null;
      const lead = message.lead ? await em.findOneOrFail(LeadSchema, message.lead.id) : null;
      if ('providerId' in outcome) {
        message.providerId ??= outcome.providerId;
        if (message.status === 'queued') {
          message.status = 'sent';
          message.error = null;
          if (lead) recordLeadEvent(em, lead, { type: 'message_sent', data: eventData(message, context, { providerId: message.providerId }), policyVersion: context.policyVersion });
        }
      } else if (message.status === 'queued') {
        message.status = 'failed';
        message.error = outcome.error;
        if (lead) recordLeadEvent(em, lead, { type: 'message_failed', data: eventData(message, context, { error: outcome.error }), policyVersion: context.policyVersion });
        if (outcome.optedOut) await recordOptOut(em, message.channel, message.to, 'stop_keyword', { reason: outcome.error });
      }
      return delivery(message);
    });
  }

  /** Keeps the row queued with the error seen, and has Temporal try again later. */
  async function retryLater(messageId: string, error: string, handedOver: boolean): Promise<never> {
    await orm.em.fork().transactional(async (em) => {
      const message = await em.findOneOrFail(MessageSchema, messageId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      message.error = error;
      if (!handedOver) message.sendStartedAt = null;
    });
    throw ApplicationFailure.retryable(error, providerUnavailable);
  }

  return {
    providers,

    /**
     * Writes the row for a draft in the caller's transaction: `queued`, or `suppressed` when the
     * address opted out (for the lead, its own consent flags count too). Commit before `deliver`.
     */
    async queue(em: EntityManager, draft: Draft, context: SendContext): Promise<Message> {
      const suppressed = await isOptedOut(em, draft.channel, draft.to, context.recipientUserId ? null : draft.lead);
      const message = em.create(MessageSchema, {
        lead: draft.lead,
        channel: draft.channel,
        direction: 'outbound',
        to: draft.to,
        from: providerFor(draft.channel).from,
        template: draft.template,
        // One line of subject (a lead's name could bring a line break), so the blank line after it is unambiguous.
        body: draft.subject ? `${draft.subject.replace(/\s+/g, ' ').trim()}\n\n${draft.body}` : draft.body,
        status: suppressed ? 'suppressed' : 'queued',
        idempotencyKey: draft.key,
      });
      if (suppressed) {
        recordLeadEvent(em, draft.lead, { type: 'message_suppressed', data: eventData(message, context, { reason: 'opted out' }), policyVersion: context.policyVersion });
      }
      return message;
    },

    /**
     * Sends a queued message at most once and records the outcome (see above). On the retry policy's
     * last attempt a failure is final: the row ends `failed` with the provider's error and the
     * timeline gets `message_failed`. Before that, a temporary failure is thrown for Temporal to retry.
     */
    async deliver(messageId: string, context: SendContext & { lastAttempt: boolean }): Promise<Delivery> {
      type Claim = { done: Delivery } | { message: Outgoing; channel: Channel; createdAt: Date; interrupted: boolean };
      const claim = await orm.em.fork().transactional(async (em): Promise<Claim> => {
        const message = await em.findOneOrFail(MessageSchema, messageId, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (message.status !== 'queued') return { done: delivery(message) };
        const lead = message.lead ? await em.findOneOrFail(LeadSchema, message.lead.id) : null;
        // An opt-out may have come in since the row was written (a retry can be minutes later).
        if (await isOptedOut(em, message.channel, message.to, context.recipientUserId ? null : lead)) {
          message.status = 'suppressed';
          message.sendStartedAt = null;
          if (lead) recordLeadEvent(em, lead, { type: 'message_suppressed', data: eventData(message, context, { reason: 'opted out' }), policyVersion: context.policyVersion });
          return { done: delivery(message) };
        }
        const interrupted = Boolean(message.sendStartedAt);
        message.sendStartedAt = new Date();
        return { message: outgoing(message, context), channel: message.channel, createdAt: message.createdAt, interrupted };
      });
      if ('done' in claim) return claim.done;

      const provider = providerFor(claim.channel);
      if (claim.interrupted) {
        const found = await provider.findSent(claim.message, claim.createdAt);
        if (found) return finish(messageId, context, { providerId: found });
        if (found === undefined) {
          return finish(messageId, context, {
            error: `An earlier attempt handed this message to ${provider.name} and never heard back; ${provider.name} cannot tell whether it took it, so it is not sent again (no duplicates)`,
          });
        }
      }

      let sent: { providerId: string | null };
      try {
        sent = await provider.send(claim.message);
      } catch (error) {
        if (error instanceof ProviderRejected) {
          if (error.permanent || context.lastAttempt) return finish(messageId, context, { error: error.message, optedOut: error.optedOut });
          return retryLater(messageId, error.message, false);
        }
        // No answer: the provider may have taken it. The next attempt finds out before sending again.
        const text = `${provider.name}: ${(error as Error).message || String(error)}`;
        if (context.lastAttempt) return finish(messageId, context, { error: `${text} (no answer on the last attempt; it may or may not have been sent)` });
        return retryLater(messageId, text, true);
      }
      // Should this write fail, `sendStartedAt` stays set and the retry asks the provider first.
      return finish(messageId, context, sent);
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
