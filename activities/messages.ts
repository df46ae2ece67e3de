import type { MikroORM } from '@mikro-orm/core';
import { Context } from '@temporalio/activity';
import { isOpen, nextOpening } from '../domain/businessHours.js';
import { MessageSchema, PolicyVersionSchema, TaskSchema, UserSchema, type Lead } from '../db/entities.js';
import { findReceipt, recordLeadEvent } from '../db/timeline.js';
import { createOutbox, type Delivery, type DeliveryStatus } from '../messaging/outbox.js';
import type { ProviderSettings } from '../messaging/settings.js';
import { renderLeadMessage, renderNotice, type Channel, type LeadFields, type NoticeKind } from '../messaging/templates.js';
import { unsubscribeUrl } from '../messaging/unsubscribe.js';
import { loadLead, type StepInput } from './common.js';

export type { Channel, NoticeKind };

export interface SendLeadMessageInput extends StepInput {
  channel: Channel;
  template: string;
}

export interface SendResult {
  messageId: string;
  status: 'sent' | 'suppressed' | 'skipped' | 'failed';
  reason?: string;
}

export interface NotifyStaffInput extends StepInput {
  /** Whom to tell; by default the lead's assignee, or for `notify_manager` the lead's team manager. */
  userId?: string | null;
  kind: NoticeKind;
}

export interface NotifyStaffResult {
  /**
   * Set when the recipient is off duty and the policy has notices wait for working hours: nothing was
   * sent; call again with the same key at this time (ISO). Null once the notice has gone out.
   */
  deferredUntil: string | null;
  /** One per channel in the recipient's `notifyBy` that could be used. */
  messages: { channel: Channel; messageId: string; status: DeliveryStatus }[];
  /** Why nothing was sent, when nothing could be. */
  skipped?: string;
}

/** True on the retry policy's last attempt, when a failure has to be recorded rather than retried. */
function lastAttempt(): boolean {
  const { attempt, retryPolicy } = Context.current().info;
  return Boolean(retryPolicy?.maximumAttempts) && attempt >= retryPolicy!.maximumAttempts!;
}

function leadFields(lead: Lead): LeadFields {
  return {
    id: lead.id,
    name: lead.name,
    email: lead.email ?? null,
    phone: lead.phone ?? null,
    source: lead.source,
    priority: lead.priority,
    escalationLevel: lead.escalationLevel,
    assigneeName: lead.assignee?.name ?? null,
    teamName: lead.team.name,
  };
}

const resultStatus = (delivery: Delivery): SendResult['status'] => (delivery.status === 'delivered' ? 'sent' : delivery.status);

export function messageActivities(orm: MikroORM, settings: ProviderSettings) {
  const outbox = createOutbox(orm, settings);

  return {
    /**
     * Sends one cadence message to the lead, at most once however often it is retried (see
     * `messaging/outbox.ts`). Opted-out addresses are recorded as suppressed; in sandbox mode (no
     * credentials) the message is recorded as sent and nothing leaves the machine.
     */
    async sendLeadMessage(input: SendLeadMessageInput): Promise<SendResult> {
      const context = { policyVersion: input.policyVersion };
      const queued = await orm.em.fork().transactional(async (em) => {
        const existing = await em.findOne(MessageSchema, { idempotencyKey: input.key });
        if (existing) return existing;
        if (await findReceipt(em, input.key)) return null;
        const lead = await loadLead(em, input.leadId);
        const to = input.channel === 'sms' ? lead.phone : lead.email;
        if (!to) {
          recordLeadEvent(em, lead, {
            type: 'message_skipped',
            data: { channel: input.channel, template: input.template, reason: `the lead has no ${input.channel === 'sms' ? 'phone' : 'email'}` },
            policyVersion: input.policyVersion,
            idempotencyKey: input.key,
          });
          return null;
        }
        const links = { unsubscribe: unsubscribeUrl(settings.publicUrl, settings.unsubscribeSecret, to) };
        const { subject, body } = renderLeadMessage(input.template, input.channel, leadFields(lead), links);
        return outbox.queue(em, { key: input.key, lead, channel: input.channel, to, template: input.template, subject, body }, context);
      });
      if (!queued) return { messageId: '', status: 'skipped', reason: 'no address' };
      const delivery = await outbox.deliver(queued.id, { ...context, lastAttempt: lastAttempt() });
      return { messageId: delivery.messageId, status: resultStatus(delivery), ...(delivery.error ? { reason: delivery.error } : {}) };
    },

    /**
     * Tells a member of staff about a lead (assignment, reminder, escalation to the manager) on each
     * channel of their `notifyBy`, each message at most once (key: the step's key and the channel).
     * Off their working hours (their own, else their team's) it sends nothing and answers when they
     * start, unless the policy has `noticesRespectWorkingHours: false`.
     */
    async notifyStaff(input: NotifyStaffInput): Promise<NotifyStaffResult> {
      const plan = await orm.em.fork().transactional(async (em): Promise<NotifyStaffResult & { queued: string[]; userId: string | null }> => {
        const written = await em.find(MessageSchema, { idempotencyKey: { $in: (['sms', 'email'] as const).map((channel) => `${input.key}:${channel}`) } });
        if (written.length > 0) {
          // A retry: send what is still queued, to whom the first attempt chose (the assignee may have changed since).
          const receipt = await findReceipt(em, `${input.key}:recipient`);
          return { deferredUntil: null, messages: [], queued: written.map((m) => m.id), userId: (receipt?.data.userId as string | undefined) ?? input.userId ?? null };
        }
        const lead = await loadLead(em, input.leadId);
        const userId = input.userId ?? (input.kind === 'notify_manager' ? lead.team.manager?.id : lead.assignee?.id) ?? null;
        const user = userId ? await em.findOne(UserSchema, userId, { populate: ['team'] }) : null;
        if (!user?.active) return { deferredUntil: null, messages: [], queued: [], userId, skipped: userId ? 'the recipient is not an active user' : 'nobody to tell' };
        const context = { policyVersion: input.policyVersion, recipientUserId: user.id, notice: input.kind };
        const team = user.team ?? lead.team;
        const calendar = { timezone: team.timezone, ...(user.workingHours ?? team.businessHours) };
        const version = await em.findOne(PolicyVersionSchema, { policy: lead.team.policy?.id ?? '', version: input.policyVersion });
        const now = Date.now();
        if (version?.rules.noticesRespectWorkingHours !== false && !isOpen(now, calendar)) {
          const opening = nextOpening(now, calendar);
          if (opening !== null) return { deferredUntil: new Date(opening).toISOString(), messages: [], queued: [], userId: user.id };
        }
        const task = await em.findOne(TaskSchema, { lead: lead.id, kind: 'first_contact', status: 'open' });
        const queued: string[] = [];
        for (const channel of new Set(user.notifyBy)) {
          const to = channel === 'sms' ? user.phone : user.email;
          if (!to) continue;
          const { subject, body } = renderNotice(input.kind, channel, {
            lead: leadFields(lead),
            recipientName: user.name,
            timezone: team.timezone,
            dueAt: task?.dueAt ?? null,
            leadUrl: `${settings.publicUrl}/leads/${lead.id}`,
          });
          const message = await outbox.queue(em, { key: `${input.key}:${channel}`, lead, channel, to, template: `notice_${input.kind}`, subject, body }, context);
          queued.push(message.id);
        }
        // The timeline says who was told; a retry reads the recipient from it.
        if (queued.length > 0) recordLeadEvent(em, lead, { type: 'staff_notified', data: { userId: user.id, notice: input.kind, messageIds: queued }, policyVersion: input.policyVersion, idempotencyKey: `${input.key}:recipient` });
        return { deferredUntil: null, messages: [], queued, userId: user.id, ...(queued.length === 0 ? { skipped: 'the recipient has no address for their notification channels' } : {}) };
      });
      if (plan.deferredUntil || plan.skipped) return { deferredUntil: plan.deferredUntil, messages: [], ...(plan.skipped ? { skipped: plan.skipped } : {}) };
      const context = { policyVersion: input.policyVersion, recipientUserId: plan.userId ?? undefined, notice: input.kind };

      const final = lastAttempt();
      const messages: NotifyStaffResult['messages'] = [];
      // Every channel is tried before a temporary failure is passed on, so one slow provider does not hold up the other.
      let retry: unknown = null;
      for (const id of plan.queued) {
        try {
          const delivery = await outbox.deliver(id, { ...context, lastAttempt: final });
          messages.push({ channel: delivery.channel, messageId: id, status: delivery.status });
        } catch (error) {
          retry ??= error;
        }
      }
      if (retry) throw retry;
      return { deferredUntil: null, messages };
    },
  };
}
