import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { MessageSchema, OptOutSchema, type Lead } from '../db/entities.js';
import { recordLeadEvent } from '../db/timeline.js';
import { loadLead, type StepInput } from './common.js';

export type Channel = 'sms' | 'email';

export interface SendLeadMessageInput extends StepInput {
  channel: Channel;
  template: string;
}

export interface SendResult {
  messageId: string;
  status: 'sent' | 'suppressed' | 'skipped';
  reason?: string;
}

/** The sender shown on outbound messages in sandbox mode. */
const SANDBOX_FROM = { sms: '+15005550006', email: 'leads@leadline.test' } as const;

/** Cadence message bodies by template name, with the lead's and the assignee's fields. */
export function renderTemplate(template: string, lead: Lead): { subject: string; body: string } {
  const first = lead.name.split(/\s+/)[0] ?? lead.name;
  const rep = lead.assignee?.name ?? lead.team.name;
  switch (template) {
    case 'followup_sms':
      return { subject: '', body: `Hi ${first}, it's ${rep} from Leadline following up on your inquiry. Reply here or call us any time. Reply STOP to opt out.` };
    case 'followup_email':
      return {
        subject: `Following up on your inquiry, ${first}`,
        body: `Hi ${first},\n\nI wanted to follow up on your inquiry. When would be a good time to talk?\n\nBest,\n${rep}`,
      };
    default:
      return { subject: `A note from ${rep}`, body: `Hi ${first}, ${rep} here, following up on your inquiry.` };
  }
}

async function optedOut(em: EntityManager, lead: Lead, channel: Channel, address: string): Promise<boolean> {
  if (channel === 'sms' ? lead.smsOptOut : lead.emailOptOut) return true;
  return (await em.count(OptOutSchema, { address, channel })) > 0;
}

export function messageActivities(orm: MikroORM) {
  return {
    /**
     * Sends one cadence message to the lead. The Message row with the step's key is the receipt:
     * a retry finds it and sends nothing again. Opted-out addresses are recorded as suppressed.
     * Providers are not wired yet: every send is recorded as sent by the sandbox.
     */
    async sendLeadMessage(input: SendLeadMessageInput): Promise<SendResult> {
      return orm.em.fork().transactional(async (em) => {
        const existing = await em.findOne(MessageSchema, { idempotencyKey: input.key });
        if (existing) return { messageId: existing.id, status: existing.status === 'suppressed' ? 'suppressed' : 'sent' };
        const lead = await loadLead(em, input.leadId);
        const to = input.channel === 'sms' ? lead.phone : lead.email;
        const { subject, body } = renderTemplate(input.template, lead);
        if (!to) {
          recordLeadEvent(em, lead, {
            type: 'message_skipped',
            data: { channel: input.channel, template: input.template, reason: `the lead has no ${input.channel === 'sms' ? 'phone' : 'email'}` },
            policyVersion: input.policyVersion,
            idempotencyKey: input.key,
          });
          return { messageId: '', status: 'skipped', reason: 'no address' };
        }
        const suppressed = await optedOut(em, lead, input.channel, to);
        const message = em.create(MessageSchema, {
          lead,
          channel: input.channel,
          direction: 'outbound',
          to,
          from: SANDBOX_FROM[input.channel],
          template: input.template,
          body: subject ? `${subject}\n\n${body}` : body,
          status: suppressed ? 'suppressed' : 'sent',
          idempotencyKey: input.key,
        });
        recordLeadEvent(em, lead, {
          type: suppressed ? 'message_suppressed' : 'message_sent',
          data: { messageId: message.id, channel: input.channel, template: input.template, to, ...(suppressed ? { reason: 'opted out' } : {}) },
          policyVersion: input.policyVersion,
        });
        return { messageId: message.id, status: suppressed ? 'suppressed' : 'sent' };
      });
    },
  };
}
