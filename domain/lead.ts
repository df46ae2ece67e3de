export const leadStatuses = ['new', 'assigned', 'contacted', 'converted', 'lost', 'unresponsive'] as const;
export type LeadStatus = (typeof leadStatuses)[number];

export const openLeadStatuses = ['new', 'assigned', 'contacted'] as const satisfies readonly LeadStatus[];
export const closedLeadStatuses = ['converted', 'lost', 'unresponsive'] as const satisfies readonly LeadStatus[];
export type ClosedLeadStatus = (typeof closedLeadStatuses)[number];

export function isClosed(status: LeadStatus): status is ClosedLeadStatus {
  return (closedLeadStatuses as readonly LeadStatus[]).includes(status);
}

export const priorities = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof priorities)[number];

/** The next priority up, used by the `raise_priority` escalation; urgent stays urgent. */
export function raisedPriority(priority: Priority): Priority {
  return priorities[Math.min(priorities.indexOf(priority) + 1, priorities.length - 1)] ?? 'urgent';
}

export const taskKinds = ['first_contact', 'follow_up', 'reply', 'escalation'] as const;
export type TaskKind = (typeof taskKinds)[number];
export const taskStatuses = ['open', 'done', 'cancelled'] as const;
export type TaskStatus = (typeof taskStatuses)[number];

export const contactChannels = ['phone', 'sms', 'email', 'meeting', 'other'] as const;

export const roles = ['admin', 'manager', 'staff', 'ops'] as const;
export type Role = (typeof roles)[number];

/** The Temporal workflow id of a lead; the API, the worker and the web app's deep link share it. */
export function leadWorkflowId(leadId: string): string {
  return `lead-${leadId}`;
}
