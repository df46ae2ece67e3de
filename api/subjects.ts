import type { LeadSubject } from '../domain/ability.js';
import type { Lead } from '../db/entities.js';

/** A loaded lead as the CASL rules see it: relation fields reduced to ids. */
export function leadSubject(lead: Lead): LeadSubject {
  return { kind: 'Lead', id: lead.id, team: lead.team.id, assignee: lead.assignee?.id ?? null };
}
