import { DateTime } from 'luxon';

export type Channel = 'sms' | 'email';

/** What the staff are told about, one template pair (SMS, email) each. */
export const noticeKinds = ['assignment', 'remind_assignee', 'notify_manager'] as const;
export type NoticeKind = (typeof noticeKinds)[number];

export interface Rendered {
  /** Empty for SMS. */
  subject: string;
  body: string;
}

/** The lead's fields a template may use. */
export interface LeadFields {
  id: string;
  name: string;
  email?: string | null;
  phone?: string | null;
  source: string;
  priority: string;
  escalationLevel: number;
  assigneeName: string | null;
  teamName: string;
}

/** The reply to an SMS "HELP", sent back in the webhook's TwiML. */
export const SMS_HELP_TEXT = 'Leadline: replies to this number reach your sales contact. Reply STOP to opt out, START to opt back in. Msg & data rates may apply.';

const firstName = (name: string) => name.trim().split(/\s+/)[0] || name;

/**
 * Outreach to the lead by template name (the policy's cadence names them). An email ends with the
 * unsubscribe link that its List-Unsubscribe header also carries.
 */
export function renderLeadMessage(template: string, channel: Channel, lead: LeadFields, links: { unsubscribe: string }): Rendered {
  const first = firstName(lead.name);
  const rep = lead.assigneeName ?? lead.teamName;
  const footer = `\n\n--\nDon't want these emails? Unsubscribe: ${links.unsubscribe}`;
  if (template === 'followup_sms' && channel === 'sms') {
    return { subject: '', body: `Hi ${first}, it's ${rep} from Leadline following up on your inquiry. Reply here or call us any time. Reply STOP to opt out.` };
  }
  if (template === 'followup_email' && channel === 'email') {
    return {
      subject: `Following up on your inquiry, ${first}`,
      body: `Hi ${first},\n\nI wanted to follow up on your inquiry. When would be a good time to talk?\n\nBest,\n${rep}${footer}`,
    };
  }
  // A template the policy names before it has its own text: a plain follow-up on the step's channel.
  return channel === 'sms'
    ? { subject: '', body: `Hi ${first}, ${rep} here, following up on your inquiry. Reply STOP to opt out.` }
    : { subject: `A note from ${rep}`, body: `Hi ${first}, ${rep} here, following up on your inquiry.${footer}` };
}

export interface NoticeContext {
  lead: LeadFields;
  recipientName: string;
  /** The recipient's timezone, for the times a notice mentions. */
  timezone: string;
  /** When first contact is due, if a first-contact task is open. */
  dueAt: Date | null;
  leadUrl: string;
}

/** A notice to a member of staff about a lead: short enough for one SMS, the same facts by email. */
export function renderNotice(kind: NoticeKind, channel: Channel, context: NoticeContext): Rendered {
  const { lead, leadUrl } = context;
  const due = context.dueAt ? DateTime.fromJSDate(context.dueAt, { zone: context.timezone }).toFormat('ccc d LLL HH:mm ZZZZ') : null;
  const contact = [lead.phone, lead.email].filter(Boolean).join(', ') || 'no contact details';
  const [subject, line] = ((): [string, string] => {
    switch (kind) {
      case 'assignment':
        return [`New lead: ${lead.name}`, `New lead for you: ${lead.name} (${contact}, from ${lead.source}).${due ? ` First contact due ${due}.` : ''}`];
      case 'remind_assignee':
        return [`Reminder: ${lead.name} is waiting`, `Reminder: ${lead.name} (${contact}) is still waiting for first contact.${due ? ` It was due ${due}.` : ''}`];
      case 'notify_manager':
        return [
          `Escalation: ${lead.name} missed its first-contact SLA`,
          `Escalation: ${lead.name} (${lead.teamName}, assigned to ${lead.assigneeName ?? 'nobody'}) missed its first-contact SLA; level ${lead.escalationLevel}, priority ${lead.priority}.`,
        ];
    }
  })();
  if (channel === 'sms') return { subject: '', body: `Leadline: ${line} ${leadUrl}` };
  return { subject, body: `Hi ${firstName(context.recipientName)},\n\n${line}\n\nOpen the lead: ${leadUrl}\n\n-- Leadline` };
}
