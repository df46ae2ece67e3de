/** The shapes the HTTP API answers with (see api/serializers.ts and api/routes/). Dates are ISO strings. */
import type { AppRule } from '../../domain/ability';
import type { RankedCandidate } from '../../domain/assignment';
import type { LeadStatus, Priority, Role, TaskKind, TaskStatus, contactChannels } from '../../domain/lead';
import type { PolicyRules } from '../../domain/policy';
import type { BusinessCalendar } from '../../domain/businessHours';
// The workflow's own types for what its `explain` query answers, so the app cannot drift from it.
import type { AssignmentDecision, ExplainedStep, LeadExplanation, PauseState } from '../../workflows/definitions';

export type { AssignmentDecision, ExplainedStep, LeadExplanation, PauseState, PolicyRules };
export type { LeadPhase } from '../../domain/planner';
export type { CadenceStep, EscalationAction } from '../../domain/policy';
// GET /api/system answers in the shape its own schema declares.
export type { ServiceRing, SystemStatus, TaskQueueBacklog, TaskQueuePoller, TaskType } from '../../domain/system';

export type ContactChannel = (typeof contactChannels)[number];

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  teamId: string | null;
  phone: string | null;
  active: boolean;
  capacity: number;
}

export interface Session {
  user: User;
  rules: AppRule[];
}

/** Listed on the sign-in page outside production. */
export interface DemoAccounts {
  password: string | null;
  accounts: { email: string; name: string; role: Role; team: string | null }[];
}

export interface Person {
  id: string;
  name: string;
  email: string;
}

export interface Lead {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  source: string;
  status: LeadStatus;
  priority: Priority;
  escalationLevel: number;
  value: number | null;
  notes: string | null;
  team: { id: string; name: string };
  assignee: Person | null;
  firstContactAt: string | null;
  convertedAt: string | null;
  lostAt: string | null;
  lostReason: string | null;
  /** Set while nobody in the team can take the lead. */
  queuedAt: string | null;
  /** Set while the lead's clocks are stopped ("waiting on the customer", or the lead replied). */
  pausedAt: string | null;
  pauseReason: string | null;
  smsOptOut: boolean;
  emailOptOut: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface LeadPage {
  items: Lead[];
  /** Exact up to the API's cap; `totalCapped` says there are more than that. */
  total: number;
  totalCapped: boolean;
  page: number;
  pageSize: number;
}

export interface LeadQuery {
  status?: string;
  q?: string;
  assigneeId?: string;
  teamId?: string;
  createdFrom?: string;
  createdTo?: string;
  page?: number;
  pageSize?: number;
}

export interface NewLead {
  name: string;
  email?: string;
  phone?: string;
  source?: string;
  priority?: Priority;
  value?: number;
  notes?: string;
  teamId?: string;
}

export type Candidate = RankedCandidate;

export interface WorkflowInfo {
  id: string;
  runId: string | null;
  /** Temporal's execution status name: RUNNING, COMPLETED, ..., or UNKNOWN when it cannot be reached. */
  status: string;
  explain: LeadExplanation | null;
}

export interface TimelineEvent {
  kind: 'event';
  id: string;
  type: string;
  at: string;
  /** The workflow acts as `{ id: null, name: 'Workflow' }`. */
  actor: { id: string | null; name: string; email: string | null };
  policyVersion: number | null;
  data: Record<string, unknown>;
}

export interface TimelineMessage {
  kind: 'message';
  id: string;
  type: string;
  at: string;
  channel: 'sms' | 'email';
  direction: 'outbound' | 'inbound';
  to: string;
  status: string;
  body: string;
}

export type TimelineItem = TimelineEvent | TimelineMessage;

export interface Task {
  id: string;
  kind: TaskKind;
  title: string;
  dueAt: string;
  status: TaskStatus;
  outcome: string | null;
  assignee: { id: string; name: string } | null;
}

/** A task in the inbox (GET /api/tasks, `taskView` in api/serializers.ts): with its lead and how to reach it. */
export interface InboxTask {
  id: string;
  kind: TaskKind;
  title: string;
  status: TaskStatus;
  dueAt: string;
  overdue: boolean;
  outcome: string | null;
  completedAt: string | null;
  createdAt: string;
  teamId: string;
  lead: { id: string; name: string; phone: string | null; email: string | null };
  assignee: Person | null;
}

export interface TaskPage {
  items: InboxTask[];
  total: number;
  page: number;
  pageSize: number;
}

export interface TaskQuery {
  status?: string;
  kind?: string;
  assigneeId?: string;
  leadId?: string;
  page?: number;
  pageSize?: number;
}

export interface CompleteTaskInput {
  outcome: string;
  notes?: string;
}

export interface LeadDetail {
  lead: Lead;
  workflow: WorkflowInfo;
  timeline: TimelineItem[];
  tasks: Task[];
  temporalUrl: string;
}

export interface ContactInput {
  channel: ContactChannel;
  outcome: string;
  notes?: string;
}

export interface ConvertInput {
  value?: number;
  notes?: string;
}

export interface LoseInput {
  reason: string;
}

/** Someone of the lead's team the lead could be given to, with what the workflow last said about them. */
export interface StaffOption {
  id: string;
  name: string;
  /** Why they were not eligible at the last decision ("at capacity (3/3 open leads)"); null when they were. */
  note: string | null;
  /** Inactive people cannot be given leads at all. */
  disabled: boolean;
}

export interface PauseInput {
  reason: string;
}

export interface ReassignInput {
  assigneeId: string;
}

/** A policy with the rules of its current version (api/routes/policies.ts). */
export interface Policy {
  id: string;
  name: string;
  team: { id: string; name: string };
  version: number;
  rules: PolicyRules;
  createdAt: string;
  createdBy: { id: string; name: string } | null;
}

export interface PolicyVersion {
  version: number;
  rules: PolicyRules;
  createdAt: string;
  createdBy: { id: string; name: string } | null;
}

export interface PolicySaved {
  policy: Policy;
  /** Open leads whose workflows heard of the new version now; the rest take it up at their next run. */
  leadsTold: number;
  openLeads: number;
}

/** A lead's pending steps under one set of rules, as the planner the workflows run sees them. */
export interface SimulatedPlan {
  next: ExplainedStep | null;
  deadlines: ExplainedStep[];
}

interface SimulatedLeadRef {
  id: string;
  name: string;
  status: LeadStatus;
  assignee: { id: string; name: string } | null;
}

/** One open lead under the current rules and the draft; a lead whose workflow did not answer has nothing to compare. */
export type SimulatedLead =
  | { lead: SimulatedLeadRef; available: false }
  | {
      lead: SimulatedLeadRef;
      available: true;
      current: SimulatedPlan;
      draft: SimulatedPlan;
      /** Minutes the next action moves (negative: sooner); null when either side has none or is paused. */
      nextShiftMinutes: number | null;
      /** The draft's next step is already due: saving would run it at once. */
      dueImmediately: boolean;
    };

export interface Simulation {
  policyId: string;
  currentVersion: number;
  simulatedAt: string;
  openLeads: number;
  /** Only the oldest open leads were simulated. */
  truncated: boolean;
  summary: { sooner: number; later: number; dueImmediately: number; unavailable: number };
  items: SimulatedLead[];
}

/** Opening hours per weekday (several ranges make a split shift) and closed dates; the timezone is the team's. */
export type BusinessHours = Omit<BusinessCalendar, 'timezone'>;
export type NotifyChannel = 'sms' | 'email';

/** A user on the users screen (api/serializers.ts `userDetailView`). */
export interface UserDetail extends User {
  weight: number;
  /** Null: the team's business hours. */
  workingHours: BusinessHours | null;
  outOfOfficeFrom: string | null;
  /** Null with a start: out until further notice. */
  outOfOfficeUntil: string | null;
  notifyBy: NotifyChannel[];
  createdAt: string;
}

/** A row of GET /api/users: the user and the open leads assigned to them. */
export interface UserListItem extends UserDetail {
  openLeads: number;
}

export interface UserPage {
  items: UserListItem[];
  total: number;
  page: number;
  pageSize: number;
}

export interface UserQuery {
  teamId?: string;
  role?: Role;
  active?: 'true' | 'false';
  q?: string;
  page?: number;
  pageSize?: number;
}

/** What PATCH /api/users/:id accepts; each field only where the caller's rules allow it. */
export interface UserChanges {
  email?: string;
  name?: string;
  role?: Role;
  teamId?: string | null;
  phone?: string | null;
  password?: string;
  capacity?: number;
  weight?: number;
  workingHours?: BusinessHours | null;
  outOfOfficeFrom?: string | null;
  outOfOfficeUntil?: string | null;
  notifyBy?: NotifyChannel[];
  active?: boolean;
}

export interface NewUser extends UserChanges {
  email: string;
  name: string;
  role: Role;
  password: string;
}

/** A team (api/serializers.ts `teamView`). */
export interface Team {
  id: string;
  name: string;
  timezone: string;
  businessHours: BusinessHours;
  manager: Person | null;
  policyId: string | null;
  createdAt: string;
}

/** A row of GET /api/teams: the team and how many active people it has. */
export interface TeamListItem extends Team {
  memberCount: number;
}

export interface TeamChanges {
  name?: string;
  timezone?: string;
  businessHours?: BusinessHours;
  managerId?: string | null;
}

export interface NewTeam {
  name: string;
  timezone: string;
  businessHours: BusinessHours;
}

/** Percentiles in seconds; null when no lead in scope got that far. */
export interface Percentiles {
  p50: number | null;
  p90: number | null;
}

/** One group of leads in GET /api/stats: a rep, a team, or every lead in scope (api/routes/stats.ts). */
export interface StatsSummary {
  leads: number;
  assigned: number;
  contacted: number;
  slaMet: number;
  /** Leads contacted or past their first-contact deadline: what attainment is out of. */
  slaDue: number;
  /** slaMet of slaDue, 0–1; null while nothing is due. */
  slaAttainment: number | null;
  converted: number;
  /** Converted of closed, 0–1; null while none is closed. */
  conversionRate: number | null;
  speedToLead: { routingSeconds: Percentiles; responseSeconds: Percentiles };
}

export interface TeamStats extends StatsSummary {
  team: { id: string; name: string };
}

export interface RepStats extends TeamStats {
  /** Null: the leads nobody was assigned. */
  rep: { id: string; name: string } | null;
}

/** Statistics of the leads created in [from, to) that the caller may read. */
export interface Stats {
  from: string;
  to: string;
  teamId: string | null;
  tz: string;
  total: StatsSummary;
  /** Leads of the range by their status now. */
  funnel: Record<LeadStatus, number>;
  /** Days of `tz` with at least one escalation step run. */
  escalationsPerDay: { day: string; count: number }[];
  teams: TeamStats[];
  reps: RepStats[];
}

export interface StatsQuery {
  from: string;
  to: string;
  teamId?: string;
  tz?: string;
}
