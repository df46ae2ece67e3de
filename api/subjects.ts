import type { LeadSubject, TaskSubject, TeamSubject, UserSubject } from '../domain/ability.js';
import type { Lead, Task, Team, User } from '../db/entities.js';

/** A loaded lead as the CASL rules see it: relation fields reduced to ids. */
export function leadSubject(lead: Lead): LeadSubject {
  return { kind: 'Lead', id: lead.id, team: lead.team.id, assignee: lead.assignee?.id ?? null };
}

export function taskSubject(task: Task): TaskSubject {
  return { kind: 'Task', id: task.id, team: task.team.id, assignee: task.assignee?.id ?? null };
}

export function userSubject(user: User): UserSubject {
  return { kind: 'User', id: user.id, team: user.team?.id ?? null, role: user.role };
}

export function teamSubject(team: Team): TeamSubject {
  return { kind: 'Team', id: team.id };
}
