import { AbilityBuilder, createMongoAbility, type MongoAbility, type RawRuleOf } from '@casl/ability';
import type { Role } from './lead.js';

export type Action =
  | 'manage'
  | 'read'
  | 'create'
  | 'update'
  | 'contact'
  | 'convert'
  | 'lose'
  | 'reassign'
  | 'complete';

/**
 * Subjects are checked as plain records whose relation fields hold ids, so the same conditions
 * work on a loaded row (see `api/subjects.ts`) and as a MikroORM `where` on a list query.
 */
export interface LeadSubject { kind: 'Lead'; id: string; team: string; assignee: string | null }
export interface TaskSubject { kind: 'Task'; id: string; assignee: string | null; team: string }
export interface UserSubject { kind: 'User'; id: string; team: string | null; role: Role }
export interface TeamSubject { kind: 'Team'; id: string }
export interface PolicySubject { kind: 'Policy'; id: string; team: string }

type SubjectRecord = LeadSubject | TaskSubject | UserSubject | TeamSubject | PolicySubject;
export type SubjectName = SubjectRecord['kind'] | 'Stats' | 'Workflow' | 'Metrics' | 'System' | 'all';
export type AppAbility = MongoAbility<[Action, SubjectName | SubjectRecord]>;
export type AppRule = RawRuleOf<AppAbility>;

/** Who is asking: the parts of a user that decide what they may do. */
export interface Actor {
  id: string;
  role: Role;
  teamId: string | null;
}

/** What a manager may change about the staff of their own team: the settings that decide assignment. */
export const staffSettingFields = ['capacity', 'weight', 'workingHours', 'outOfOfficeFrom', 'outOfOfficeUntil', 'active'] as const;
export type StaffSettingField = (typeof staffSettingFields)[number];

/** What a manager may change about their own team: when it is open. */
export const teamHoursFields = ['businessHours', 'timezone'] as const;
export type TeamHoursField = (typeof teamHoursFields)[number];

type DefineRules = (actor: Actor, builder: AbilityBuilder<AppAbility>) => void;

const rulesByRole: Record<Role, DefineRules> = {
  admin(_actor, { can }) {
    can('manage', 'all');
  },
  ops(_actor, { can }) {
    can('read', ['Lead', 'Task', 'User', 'Team', 'Policy', 'Stats', 'Workflow', 'Metrics', 'System']);
  },
  manager({ id, teamId }, { can }) {
    can('read', 'User', { id });
    if (!teamId) return;
    can(['read', 'create', 'update', 'contact', 'convert', 'lose', 'reassign'], 'Lead', { team: teamId });
    can(['read', 'complete'], 'Task', { team: teamId });
    can('read', 'User', { team: teamId });
    can('update', 'User', [...staffSettingFields], { team: teamId, role: 'staff' });
    can('read', 'Team', { id: teamId });
    can('update', 'Team', [...teamHoursFields], { id: teamId });
    can(['read', 'update'], 'Policy', { team: teamId });
    can('read', ['Stats', 'Workflow']);
  },
  staff({ id, teamId }, { can }) {
    can('read', 'User', { id });
    can(['read', 'update', 'contact', 'convert', 'lose'], 'Lead', { assignee: id });
    can(['read', 'complete'], 'Task', { assignee: id });
    if (teamId) can('create', 'Lead', { team: teamId });
  },
};

export function rulesFor(actor: Actor): AppRule[] {
  const define = rulesByRole[actor.role];
  if (!define) throw new Error(`Unknown role: ${String(actor.role)}`);
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  define(actor, builder);
  return builder.rules;
}

/** Subject type detection by the `kind` field every subject record carries. */
function detectSubjectType(subject: SubjectName | SubjectRecord): SubjectName {
  return typeof subject === 'string' ? subject : subject.kind;
}

export function abilityFromRules(rules: AppRule[]): AppAbility {
  return createMongoAbility<AppAbility>(rules, { detectSubjectType });
}

export function defineAbilityFor(actor: Actor): AppAbility {
  return abilityFromRules(rulesFor(actor));
}
