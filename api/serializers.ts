import type { Lead, LeadEvent, Message, Task, Team, User } from '../db/entities.js';

export function userView(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    teamId: user.team?.id ?? null,
    phone: user.phone ?? null,
    active: user.active,
    capacity: user.capacity,
  };
}

/** A user on the users screen: `userView` plus the settings that decide whether they get leads. Never the password hash. */
export function userDetailView(user: User) {
  return {
    ...userView(user),
    weight: user.weight,
    workingHours: user.workingHours ?? null,
    outOfOfficeFrom: user.outOfOfficeFrom ?? null,
    outOfOfficeUntil: user.outOfOfficeUntil ?? null,
    notifyBy: user.notifyBy,
    createdAt: user.createdAt,
  };
}

const person = (user: User | null | undefined) =>
  user ? { id: user.id, name: user.name, email: user.email } : null;

/** Needs `team` and `assignee` populated. */
export function leadView(lead: Lead) {
  return {
    id: lead.id,
    name: lead.name,
    email: lead.email ?? null,
    phone: lead.phone ?? null,
    source: lead.source,
    status: lead.status,
    priority: lead.priority,
    escalationLevel: lead.escalationLevel,
    value: lead.value ?? null,
    notes: lead.notes ?? null,
    team: { id: lead.team.id, name: lead.team.name },
    assignee: person(lead.assignee),
    firstContactAt: lead.firstContactAt ?? null,
    convertedAt: lead.convertedAt ?? null,
    lostAt: lead.lostAt ?? null,
    lostReason: lead.lostReason ?? null,
    queuedAt: lead.queuedAt ?? null,
    pausedAt: lead.pausedAt ?? null,
    pauseReason: lead.pauseReason ?? null,
    smsOptOut: lead.smsOptOut,
    emailOptOut: lead.emailOptOut,
    createdAt: lead.createdAt,
    updatedAt: lead.updatedAt,
  };
}

/** Events and messages merged into one list, oldest first. Needs event `actor` populated. */
export function timelineView(events: LeadEvent[], messages: Message[]) {
  const items = [
    ...events.map((event) => ({
      kind: 'event' as const,
      id: event.id,
      type: event.type,
      at: event.at,
      actor: event.actor ? person(event.actor) : { id: null, name: event.actorKind === 'system' ? 'System' : 'Workflow', email: null },
      policyVersion: event.policyVersion ?? null,
      data: event.data,
    })),
    ...messages.map((message) => ({
      kind: 'message' as const,
      id: message.id,
      type: `${message.channel}_${message.direction}`,
      at: message.createdAt,
      channel: message.channel,
      direction: message.direction,
      to: message.to,
      status: message.status,
      body: message.body,
    })),
  ];
  return items.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Needs `manager` populated. */
export function teamView(team: Team) {
  return {
    id: team.id,
    name: team.name,
    timezone: team.timezone,
    businessHours: team.businessHours,
    manager: person(team.manager),
    policyId: team.policy?.id ?? null,
    createdAt: team.createdAt,
  };
}

/** Needs `lead` and `assignee` populated; `now` decides what is overdue, the same instant the list was ordered by. */
export function taskView(task: Task, now: Date) {
  return {
    id: task.id,
    kind: task.kind,
    title: task.title,
    status: task.status,
    dueAt: task.dueAt,
    overdue: task.status === 'open' && task.dueAt.getTime() < now.getTime(),
    outcome: task.outcome ?? null,
    completedAt: task.completedAt ?? null,
    createdAt: task.createdAt,
    teamId: task.team.id,
    // How to reach the lead, so the inbox can call or write without opening the lead first.
    lead: { id: task.lead.id, name: task.lead.name, phone: task.lead.phone ?? null, email: task.lead.email ?? null },
    assignee: person(task.assignee),
  };
}
